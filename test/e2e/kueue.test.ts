/**
 * Gang admission by real Kueue (issue 16): sigs.k8s.io/kueue's manager (scripts/kueue-build.sh) runs as a
 * local process against the test apiserver, its pod webhooks served on loopback (test/harness/kueue.ts),
 * with a ClusterQueue whose nvidia.com/gpu quota (4) is smaller than the harness Nodes' GPUs (3 × 2 = 6),
 * so that only Kueue can be what holds a job back. Workers are stand-ins asking for 1 GPU each; the real
 * kube-scheduler places what Kueue admits. The operator runs with exactly OPERATOR_RULES (provider kueue
 * needs nothing more).
 */
import { describe, expect, it } from 'vitest';
import { startKueue, type KueueProcess } from '../harness/kueue.ts';
import { pollUntil } from '../harness/wait.ts';
import { condition, gangSpec, useGangEnvironment, type GangEnvironment } from './support/gang-env.ts';

const GPU_QUOTA = 4;
let kueue: KueueProcess | undefined;
const kueueObjects: { plural: string; name: string; namespace?: string }[] = [];

interface Workload {
  metadata: { name: string };
  status?: {
    conditions?: {
      type: string;
      status: string;
      reason?: string;
      message?: string;
      lastTransitionTime?: string;
    }[];
  };
}

const kueueApi = { group: 'kueue.x-k8s.io', version: 'v1beta2' };

/** Creates the flavor, the ClusterQueue with the GPU quota, and the LocalQueue `gpu` in the namespace. */
async function createQueues(env: GangEnvironment): Promise<void> {
  const flavor = `default-${env.ns}`;
  const clusterQueue = `gpu-${env.ns}`;
  const create = async (plural: string, body: Record<string, unknown>, namespace?: string) => {
    const name = (body.metadata as { name: string }).name;
    if (namespace) await env.custom.createNamespacedCustomObject({ ...kueueApi, plural, namespace, body });
    else await env.custom.createClusterCustomObject({ ...kueueApi, plural, body });
    kueueObjects.unshift({ plural, name, namespace });
  };
  await create('resourceflavors', {
    apiVersion: 'kueue.x-k8s.io/v1beta2',
    kind: 'ResourceFlavor',
    metadata: { name: flavor },
  });
  await create('clusterqueues', {
    apiVersion: 'kueue.x-k8s.io/v1beta2',
    kind: 'ClusterQueue',
    metadata: { name: clusterQueue },
    spec: {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': env.ns } },
      queueingStrategy: 'StrictFIFO',
      resourceGroups: [
        {
          coveredResources: ['cpu', 'memory', 'nvidia.com/gpu'],
          flavors: [
            {
              name: flavor,
              resources: [
                { name: 'cpu', nominalQuota: '64' },
                { name: 'memory', nominalQuota: '256Gi' },
                { name: 'nvidia.com/gpu', nominalQuota: GPU_QUOTA },
              ],
            },
          ],
        },
      ],
    },
  });
  await create(
    'localqueues',
    {
      apiVersion: 'kueue.x-k8s.io/v1beta2',
      kind: 'LocalQueue',
      metadata: { name: 'gpu', namespace: env.ns },
      spec: { clusterQueue },
    },
    env.ns,
  );
  // Kueue marks the ClusterQueue Active once it has seen the flavor; admission waits for that.
  await pollUntil(
    async () => {
      const cq = (await env.custom.getClusterCustomObject({
        ...kueueApi,
        plural: 'clusterqueues',
        name: clusterQueue,
      })) as Workload;
      return cq.status?.conditions?.some((c) => c.type === 'Active' && c.status === 'True')
        ? true
        : undefined;
    },
    {
      timeoutMs: 60_000,
      description: `ClusterQueue ${clusterQueue} Active`,
      diagnose: () => kueue?.tail() ?? '',
    },
  );
}

const env = useGangEnvironment('jcl-kueue', {
  nodes: 3,
  gpusPerNode: 2,
  extraDiagnosis: () => `--- kueue ---\n${kueue?.tail(30) ?? '(not started)'}`,
  beforeStart: async (e) => {
    kueue = await startKueue({
      kubeConfig: e.plane.kubeConfig,
      kubeconfigPath: e.plane.kubeconfigPath,
      namespaces: [e.ns],
    });
    await createQueues(e);
  },
  beforeStop: async (e) => {
    // Jobs first (Kueue drops its pod finalizers as their pods go), then Kueue's own objects, then Kueue.
    for (const name of ['first', 'second', 'tight', 'later', 'again', 'requeued'])
      await e.deleteJob(name).catch(() => undefined);
    for (const o of kueueObjects) {
      const call = o.namespace
        ? e.custom.deleteNamespacedCustomObject({
            ...kueueApi,
            plural: o.plural,
            namespace: o.namespace,
            name: o.name,
          })
        : e.custom.deleteClusterCustomObject({ ...kueueApi, plural: o.plural, name: o.name });
      await call.catch(() => undefined);
    }
    await kueue?.stop();
  },
});

/** 6 workers: more GPUs than the quota (4), as many as the Nodes have (6): only Kueue holds them back. */
const overQuota = (policy: Record<string, unknown>) => {
  const s = gangSpec(6, policy);
  s.training.optim.batchSize = 12; // divisible by the 6 workers
  s.training.jcl.queueSize = 48; // a multiple of the batch
  return s;
};

const readWorkload = (name: string) =>
  env.custom.getNamespacedCustomObject({
    ...kueueApi,
    plural: 'workloads',
    namespace: env.ns,
    name,
  }) as Promise<Workload>;
const wlCondition = (w: Workload, type: string) => w.status?.conditions?.find((c) => c.type === type);
/** Polls the job's Workload until `ok` holds; `ok` sees null while Kueue has none (404). */
const workloadWhen = (
  name: string,
  description: string,
  ok: (w: Workload | null) => boolean,
  timeoutMs = 120_000,
) =>
  pollUntil(
    async () => {
      const w = await readWorkload(name).catch((err: { code?: number }) =>
        err.code === 404 ? null : undefined,
      );
      return w !== undefined && ok(w) ? { workload: w } : undefined;
    },
    { timeoutMs, description, diagnose: env.diagnose },
  );

describe('gang admission by real Kueue', () => {
  it('a job over the free quota waits with nothing admitted, then runs when quota frees, and finishes', async () => {
    const policy = { provider: 'kueue', queue: 'gpu' };
    await env.jobs.create('first', gangSpec(4, policy, { FAKE_EXIT_AFTER_MS: '8000' }));
    const { workload: firstAdmitted } = await workloadWhen(
      'first',
      'Kueue admits first',
      (w) => w !== null && wlCondition(w, 'Admitted')?.status === 'True',
    );
    expect(wlCondition(firstAdmitted!, 'QuotaReserved')?.status).toBe('True');

    await env.jobs.create('second', gangSpec(4, policy, { FAKE_EXIT_AFTER_MS: '2000' }));
    // Kueue's word: the Workload of the group has no quota reserved, and says which resource is short.
    const { workload: pending } = await workloadWhen('second', 'Workload second pending on quota', (w) => {
      const c = w && wlCondition(w, 'QuotaReserved');
      return c?.status === 'False' && /insufficient/i.test(c.message ?? '');
    });
    expect(wlCondition(pending!, 'QuotaReserved')?.message).toMatch(
      /insufficient unused quota for nvidia\.com\/gpu/,
    );
    // The job's word: Unschedulable, because every worker is still gated by Kueue.
    const waiting = await env.jobs.waitFor(
      'second',
      'Unschedulable (gated)',
      (j) => condition(j, 'Unschedulable')?.status === 'True',
      120_000,
      env.diagnose,
    );
    expect(condition(waiting, 'Unschedulable')?.reason).toBe('SchedulingGated');
    expect(condition(waiting, 'Unschedulable')?.message).toContain(
      '4/4 workers cannot be placed (SchedulingGated)',
    );
    const events = await env.eventsOf('second');
    expect(events.some((e) => e.reason === 'Unschedulable' && /SchedulingGated/.test(e.message ?? ''))).toBe(
      true,
    );
    expect(
      events.some((e) => e.reason === 'Pending' && /insufficient unused quota/.test(e.message ?? '')),
    ).toBe(true);
    const gated = await env.workerPods('second');
    expect(gated).toHaveLength(4);
    for (const p of gated) {
      expect(p.spec?.nodeName, p.metadata?.name).toBeUndefined();
      expect(p.spec?.schedulingGates).toContainEqual({ name: 'kueue.x-k8s.io/admission' });
      // Kueue's webhook took the pod: its managed label and finalizer.
      expect(p.metadata?.labels?.['kueue.x-k8s.io/managed']).toBe('true');
      expect(p.metadata?.finalizers).toContain('kueue.x-k8s.io/managed');
    }
    expect(await env.kubectlGet('second')).toMatch(/4\/4 workers cannot be placed \(SchedulingGated\)/);

    const done = (name: string) =>
      env.jobs.waitFor(
        name,
        'finished',
        (j) => ['Succeeded', 'Failed'].includes(j.status?.phase ?? ''),
        240_000,
        env.diagnose,
      );
    const [a, b] = [await done('first'), await done('second')];
    expect([a.status?.phase, b.status?.phase]).toEqual(['Succeeded', 'Succeeded']);
    expect(condition(b, 'Unschedulable')).toMatchObject({ status: 'False', reason: 'WorkersPlaced' });
    // second got its quota only after every worker of first had finished (4 + 4 > 4). Both times have second
    // precision; finishedAt is rounded down, so it can only be earlier than the real exit.
    const reservedAt = wlCondition(await readWorkload('second'), 'QuotaReserved')?.lastTransitionTime;
    expect(reservedAt).toBeDefined();
    const firstPods = await env.workerPods('first');
    expect(firstPods).toHaveLength(4);
    for (const p of firstPods) {
      const finishedAt = p.status?.containerStatuses?.[0]?.state?.terminated?.finishedAt;
      expect(finishedAt, p.metadata?.name).toBeDefined();
      expect(new Date(finishedAt as Date).getTime()).toBeLessThanOrEqual(
        new Date(reservedAt as string).getTime(),
      );
    }
    const finished = await readWorkload('first');
    expect(wlCondition(finished, 'Finished')?.status).toBe('True');
  });

  it('a gang larger than the quota is never admitted and fails at its schedule timeout', async () => {
    await env.jobs.create(
      'tight',
      overQuota({ provider: 'kueue', queue: 'gpu', scheduleTimeoutSeconds: 20 }),
    );
    const failed = await env.jobs.waitFor(
      'tight',
      'Failed',
      (j) => j.status?.phase === 'Failed',
      180_000,
      env.diagnose,
    );
    expect(condition(failed, 'Failed')?.reason).toBe('ScheduleTimeout');
    expect(failed.status?.message).toContain('6/6 workers cannot be placed (SchedulingGated)');
    const w = await readWorkload('tight');
    expect(wlCondition(w, 'QuotaReserved')?.status).not.toBe('True');
    expect(wlCondition(w, 'Admitted')?.status).not.toBe('True');
    for (let r = 0; r < 6; r++) expect(env.node.podNode(env.ns, `tight-worker-${r}`)).toBeUndefined();
    // The failed job's pod group is over (kueue.x-k8s.io/retriable-in-group=false on its pods): Kueue lets
    // the deleted pods go and finalizes the Workload while the failed job still exists. Without the
    // annotation the Workload waited for replacement pods at the head of the StrictFIFO queue, and the
    // next test's job was never admitted.
    await workloadWhen(
      'tight',
      'Workload tight finalized',
      (w) => w === null || wlCondition(w, 'Finished')?.status === 'True',
      90_000,
    );
    expect((await env.jobs.get('tight')).status?.phase).toBe('Failed');
    await env.deleteJob('tight');
  });

  it('a suspended gang job creates nothing until resumed, then Kueue admits it and it runs', async () => {
    await env.jobs.create(
      'later',
      gangSpec(2, { provider: 'kueue', queue: 'gpu' }, { FAKE_EXIT_AFTER_MS: '2000' }, { suspend: true }),
    );
    await env.jobs.waitFor(
      'later',
      'Suspended',
      (j) => j.status?.phase === 'Suspended',
      60_000,
      env.diagnose,
    );
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await env.workerPods('later')).toEqual([]);
    await env.jobs.patchSpec('later', { runPolicy: { suspend: false } });
    const done = await env.jobs.waitFor(
      'later',
      'Succeeded',
      (j) => j.status?.phase === 'Succeeded',
      120_000,
      env.diagnose,
    );
    expect(done.status?.phase).toBe('Succeeded');
    expect(wlCondition(await readWorkload('later'), 'Finished')?.status).toBe('True');
  });
  // Kueue holds a deleted pod of a group (its finalizer) until a replacement appears, while our replacements
  // reuse the pod names and wait for the old pods to be gone: without the retriable-in-group mark on the
  // old generation, both of these waited forever ("waiting for 2 pods of earlier generations").
  it('a gang restart under Kueue: the failed generation is finalized, the next is admitted and succeeds', async () => {
    await env.jobs.create(
      'again',
      gangSpec(
        2,
        { provider: 'kueue', queue: 'gpu' },
        { FAKE_EXIT_AFTER_MS: '3000', FAKE_EXIT_CODE: '75', FAKE_ONLY_GENERATION: '0' },
      ),
    );
    const done = await env.jobs.waitFor(
      'again',
      'Succeeded after one gang restart',
      (j) => ['Succeeded', 'Failed'].includes(j.status?.phase ?? ''),
      180_000,
      env.diagnose,
    );
    expect(done.status?.phase, env.diagnose()).toBe('Succeeded');
    expect(done.status?.restarts).toBe(1);
    // Generation 1 went through Kueue again (gated, admitted): its Workload finished with its pods.
    const wl = await readWorkload('again');
    expect(wlCondition(wl, 'Admitted')?.status).toBe('True');
    expect(wlCondition(wl, 'Finished')?.status).toBe('True');
  });

  it('onScheduleTimeout Requeue under Kueue: the unadmitted gang is recreated and gated again', async () => {
    await env.jobs.create(
      'requeued',
      overQuota({
        provider: 'kueue',
        queue: 'gpu',
        scheduleTimeoutSeconds: 10,
        onScheduleTimeout: 'Requeue',
      }),
    );
    await env.jobs.waitFor(
      'requeued',
      'requeued',
      (j) => (j.status?.restartGeneration ?? 0) >= 1,
      120_000,
      env.diagnose,
    );
    const later = await pollUntil(
      async () => {
        const pods = (await env.workerPods('requeued')).filter(
          (p) => p.metadata?.labels?.['training.jcl.dev/restart-generation'] !== '0',
        );
        return pods.length === 6 ? pods : undefined;
      },
      { timeoutMs: 120_000, description: 'a later generation of requeued, 6 pods', diagnose: env.diagnose },
    );
    for (const p of later) {
      expect(p.spec?.schedulingGates?.map((g) => g.name)).toContain('kueue.x-k8s.io/admission');
      expect(p.spec?.nodeName).toBeUndefined();
    }
    const job = await env.jobs.get('requeued');
    expect(job.status?.phase).not.toBe('Failed');
    expect(job.status?.restarts).toBe(0);
    await env.deleteJob('requeued');
  });
});
