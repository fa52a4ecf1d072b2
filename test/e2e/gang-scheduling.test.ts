/**
 * Gang scheduling on the real kube-scheduler (issue 16). Three harness Nodes with 2 nvidia.com/gpu each
 * (6 GPUs); every worker asks for 1 GPU; workers are a stand-in script (the scheduling is under test, not
 * training). What enforces the gang, per test:
 *  - provider none: nothing; the real kube-scheduler places each pod on its own (NodeResourcesFit).
 *  - provider kueue: the operator's pod-group labels + `kueue.x-k8s.io/admission` gate; the gate is lifted by
 *    test/harness/pod-group-admitter.ts, a stand-in that implements Kueue's documented pod-group admission
 *    for one 6-GPU quota (NOT Kueue itself); the real kube-scheduler then places the admitted pods.
 *  - providers volcano / coscheduling: the operator's PodGroup and schedulerName; no Volcano or
 *    scheduler-plugins scheduler runs here, so the test binds the pods itself (the step such a scheduler
 *    takes once minMember fit) and checks the PodGroup's life: owned, kept through a gang restart, deleted
 *    with the job.
 * The operator runs as a ServiceAccount holding exactly OPERATOR_RULES + GANG_SCHEDULING_RULES.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { createTestNamespace, deleteTestNamespace, useControlPlane } from '../harness/e2e-context.ts';
import { NodeHarness } from '../harness/node-harness.ts';
import { PodGroupAdmitter } from '../harness/pod-group-admitter.ts';
import { createServiceAccountIdentity } from '../harness/restricted-identity.ts';
import { tailFile } from '../harness/managed-process.ts';
import { pollUntil } from '../harness/wait.ts';
import { REPO_ROOT } from '../harness/control-plane.ts';
import {
  installCrd,
  Jobs,
  kubectlPath,
  startOperator,
  type OperatorProcess,
} from '../../operator/src/testing/e2e-kit.ts';
import { GANG_SCHEDULING_RULES, OPERATOR_RULES } from '../../operator/src/api/rbac.ts';
import type { JCLTrainingJob } from '../../operator/src/api/status-schema.ts';

const run = promisify(execFile);
const plane = useControlPlane();
const kc = plane.kubeConfig;
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
let ns: string;
let node: NodeHarness;
let operator: OperatorProcess;
let admitter: PodGroupAdmitter;
let jobs: Jobs;

/** The stand-in worker: exits FAKE_EXIT_CODE after FAKE_EXIT_AFTER_MS (only in FAKE_ONLY_GENERATION, if set), else runs on. */
const FAKE_WORKER = `
const e = process.env;
const gen = e.FAKE_ONLY_GENERATION === undefined || e.FAKE_ONLY_GENERATION === e.JCL_RESTART_GENERATION;
const after = Number(e.FAKE_EXIT_AFTER_MS || 0);
if (after > 0) setTimeout(() => process.exit(gen ? Number(e.FAKE_EXIT_CODE || 0) : 0), after);
else setInterval(() => {}, 1000);
`;

const spec = (
  workers: number,
  schedulingPolicy: Record<string, unknown> | undefined,
  env: Record<string, string> = {},
  runPolicy: Record<string, unknown> = {},
) => ({
  workers,
  template: {
    image: 'jcl-e2e/node:local',
    command: ['node', '-e', FAKE_WORKER],
    env: Object.entries(env).map(([name, value]) => ({ name, value })),
    resources: { limits: { 'nvidia.com/gpu': 1 } },
  },
  training: { model: { arch: 'resnet-tiny' }, optim: { batchSize: 8, epochs: 1 }, jcl: { queueSize: 64 } },
  runPolicy: { ...runPolicy, ...(schedulingPolicy ? { schedulingPolicy } : {}) },
});

const diagnose = () =>
  `--- operator ---\n${tailFile(operator?.logFile ?? '', 30)}\n--- node ---\n${tailFile(node?.logFile ?? '', 20)}`;
const workerPods = async (job: string): Promise<V1Pod[]> =>
  (
    await core.listNamespacedPod({ namespace: ns, labelSelector: `training.jcl.dev/job-name=${job}` })
  ).items.filter((p) => !p.metadata?.deletionTimestamp);
const condition = (j: JCLTrainingJob, type: string) => j.status?.conditions?.find((c) => c.type === type);
const eventsOf = async (job: string) =>
  (await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${job}` })).items;

/** Deletes a job and waits until its pods are gone (their GPUs free again). */
async function deleteJob(name: string): Promise<void> {
  await custom.deleteNamespacedCustomObject({
    group: 'training.jcl.dev',
    version: 'v1alpha1',
    namespace: ns,
    plural: 'jcltrainingjobs',
    name,
  });
  await pollUntil(async () => ((await workerPods(name)).length === 0 ? true : undefined), {
    timeoutMs: 90_000,
    description: `pods of ${name} deleted (garbage collector)`,
    diagnose,
  });
}

beforeAll(async () => {
  await installCrd(kc, plane.kubeconfigPath);
  for (const crd of ['scheduling.volcano.sh_podgroups.yaml', 'scheduling.x-k8s.io_podgroups.yaml']) {
    await run(
      kubectlPath(),
      ['apply', '--server-side', '-f', path.join(REPO_ROOT, 'test/fixtures/crds', crd)],
      {
        env: { ...process.env, KUBECONFIG: plane.kubeconfigPath },
      },
    );
  }
  ns = await createTestNamespace(kc, 'jcl-gang', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  jobs = new Jobs(kc, ns);
  node = await NodeHarness.start({
    kubeConfig: kc,
    namespaces: [ns],
    nodes: [0, 1, 2].map((i) => ({ name: `node-${ns}-${i}`, allocatable: { 'nvidia.com/gpu': '2' } })),
    maxGraceMs: 2_000,
  });
  const operatorKubeconfig = path.join(os.tmpdir(), `${ns}-operator.kubeconfig`);
  await createServiceAccountIdentity(kc, {
    namespace: ns,
    name: 'jcl-operator',
    rules: [...OPERATOR_RULES, ...GANG_SCHEDULING_RULES.volcano, ...GANG_SCHEDULING_RULES.coscheduling],
    kubeconfigFile: operatorKubeconfig,
  });
  operator = await startOperator(operatorKubeconfig, [
    '--namespaces',
    ns,
    '--resync-ms',
    '1000',
    '--poll-interval-ms',
    '1000',
  ]);
  admitter = PodGroupAdmitter.start({
    kubeConfig: kc,
    namespaces: [ns],
    quota: { 'nvidia.com/gpu': 6 },
    queue: 'gpu',
  });
});
afterAll(async () => {
  await admitter?.stop();
  await operator?.stop();
  await node?.stop();
  if (ns) await deleteTestNamespace(kc, ns);
});

describe('gang scheduling on the real kube-scheduler', () => {
  it('registers 3 pool Nodes with 2 GPUs each, tainted for this namespace only', async () => {
    for (const name of node.nodeNames) {
      const n = await core.readNode({ name });
      expect(n.status?.allocatable?.['nvidia.com/gpu']).toBe('2');
      expect(n.metadata?.labels?.['node.jcl.dev/pool']).toBe(node.nodeName);
      expect(n.spec?.taints).toContainEqual({
        key: 'node.jcl.dev/pool',
        value: node.nodeName,
        effect: 'NoSchedule',
      });
    }
  });

  it('without a gang, an 8-GPU job on 6 GPUs starts 6 workers; the job says why the rest wait', async () => {
    await jobs.create('loose', spec(8, undefined));
    const waiting = await jobs.waitFor(
      'loose',
      'Unschedulable condition',
      (j) => condition(j, 'Unschedulable')?.status === 'True',
      120_000,
      diagnose,
    );
    expect(condition(waiting, 'Unschedulable')?.message).toMatch(/Insufficient nvidia\.com\/gpu/);
    await pollUntil(
      async () =>
        (await workerPods('loose')).filter((p) => p.status?.phase === 'Running').length === 6
          ? true
          : undefined,
      { timeoutMs: 120_000, description: '6 workers of loose Running', diagnose },
    );
    const pods = await workerPods('loose');
    expect(pods.filter((p) => p.spec?.nodeName).length).toBe(6);
    // The scheduler spread them by GPU: 2 per node, never more than a node has.
    const perNode = new Map<string, number>();
    for (const p of pods)
      if (p.spec?.nodeName) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
    expect([...perNode.values()]).toEqual([2, 2, 2]);
    const unplaced = pods.filter((p) => !p.spec?.nodeName);
    expect(unplaced).toHaveLength(2);
    expect(unplaced[0].status?.conditions?.find((c) => c.type === 'PodScheduled')?.reason).toBe(
      'Unschedulable',
    );
    expect(
      (await eventsOf('loose')).some(
        (e) => e.reason === 'Unschedulable' && /Insufficient nvidia/.test(e.message ?? ''),
      ),
    ).toBe(true);
    const table = await run(kubectlPath(), ['get', 'jcljob', 'loose', '-n', ns], {
      env: { ...process.env, KUBECONFIG: plane.kubeconfigPath },
    });
    expect(table.stdout).toMatch(/SCHEDULING/);
    expect(table.stdout).toMatch(/2\/8 workers cannot be placed \(Unschedulable\)/);
    await deleteJob('loose');
  });

  it('with a gang (Kueue contract), the same job starts no worker, then fails at its schedule timeout', async () => {
    await jobs.create('tight', spec(8, { provider: 'kueue', queue: 'gpu', scheduleTimeoutSeconds: 15 }));
    const waiting = await jobs.waitFor(
      'tight',
      'Unschedulable (gated)',
      (j) => condition(j, 'Unschedulable')?.status === 'True',
      120_000,
      diagnose,
    );
    expect(condition(waiting, 'Unschedulable')?.reason).toBe('SchedulingGated');
    const pods = await workerPods('tight');
    expect(pods).toHaveLength(8);
    expect(pods.every((p) => p.metadata?.labels?.['kueue.x-k8s.io/pod-group-name'] === 'tight')).toBe(true);
    expect(pods.every((p) => p.metadata?.annotations?.['kueue.x-k8s.io/pod-group-total-count'] === '8')).toBe(
      true,
    );
    const failed = await jobs.waitFor(
      'tight',
      'Failed',
      (j) => j.status?.phase === 'Failed',
      120_000,
      diagnose,
    );
    expect(condition(failed, 'Failed')?.reason).toBe('ScheduleTimeout');
    expect(failed.status?.message).toContain('8/8 workers cannot be placed (SchedulingGated)');
    // Not one worker ever got a node or a process.
    expect(admitter.admissions.filter((a) => a.group === `${ns}/tight`)).toEqual([]);
    for (let r = 0; r < 8; r++) expect(node.podNode(ns, `tight-worker-${r}`)).toBeUndefined();
    await deleteJob('tight');
  });

  it('with onScheduleTimeout Requeue, the unplaceable gang is recreated instead of failing the job', async () => {
    await jobs.create(
      'again',
      spec(8, { provider: 'kueue', queue: 'gpu', scheduleTimeoutSeconds: 5, onScheduleTimeout: 'Requeue' }),
    );
    const requeued = await jobs.waitFor(
      'again',
      'requeued',
      (j) => (j.status?.restartGeneration ?? 0) >= 1,
      120_000,
      diagnose,
    );
    expect(requeued.status?.phase).not.toBe('Failed');
    expect(requeued.status?.restarts).toBe(0);
    expect(
      (await eventsOf('again')).some(
        (e) => e.reason === 'ScheduleTimeout' && /requeued/.test(e.message ?? ''),
      ),
    ).toBe(true);
    await deleteJob('again');
  });

  it('two competing gang jobs of 4 GPUs each both finish, one after the other', async () => {
    const policy = { provider: 'kueue', queue: 'gpu' };
    await jobs.create('first', spec(4, policy, { FAKE_EXIT_AFTER_MS: '3000' }));
    await pollUntil(async () => ((await workerPods('first')).length === 4 ? true : undefined), {
      timeoutMs: 60_000,
      description: 'pods of first',
    });
    await jobs.create('second', spec(4, policy, { FAKE_EXIT_AFTER_MS: '3000' }));
    const second = await jobs.waitFor(
      'second',
      'waiting for quota',
      (j) => condition(j, 'Unschedulable')?.status === 'True',
      120_000,
      diagnose,
    );
    expect(condition(second, 'Unschedulable')?.reason).toBe('SchedulingGated');
    const done = (name: string) =>
      jobs.waitFor(
        name,
        'Succeeded',
        (j) => ['Succeeded', 'Failed'].includes(j.status?.phase ?? ''),
        180_000,
        diagnose,
      );
    const [a, b] = [await done('first'), await done('second')];
    expect([a.status?.phase, b.status?.phase]).toEqual(['Succeeded', 'Succeeded']);
    expect(admitter.admissions.map((x) => x.group)).toEqual([`${ns}/first`, `${ns}/second`]);
    // second was admitted only after every worker of first had finished (quota 6 < 4 + 4). finishedAt has
    // second precision, rounded down, so it can only be earlier than the real exit.
    const secondAdmitted = admitter.admissions[1].at.getTime();
    const firstPods = await workerPods('first');
    expect(firstPods).toHaveLength(4);
    for (const p of firstPods) {
      const finishedAt = p.status?.containerStatuses?.[0]?.state?.terminated?.finishedAt;
      expect(finishedAt, p.metadata?.name).toBeDefined();
      expect(new Date(finishedAt as Date).getTime()).toBeLessThanOrEqual(secondAdmitted);
    }
    expect(condition(b, 'Unschedulable')).toMatchObject({ status: 'False', reason: 'WorkersPlaced' });
  });

  it('a suspended gang job creates nothing until resumed, then is admitted and runs', async () => {
    await jobs.create(
      'later',
      spec(2, { provider: 'kueue', queue: 'gpu' }, { FAKE_EXIT_AFTER_MS: '2000' }, { suspend: true }),
    );
    await jobs.waitFor('later', 'Suspended', (j) => j.status?.phase === 'Suspended', 60_000, diagnose);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await workerPods('later')).toEqual([]);
    await jobs.patchSpec('later', { runPolicy: { suspend: false } });
    const done = await jobs.waitFor(
      'later',
      'Succeeded',
      (j) => j.status?.phase === 'Succeeded',
      120_000,
      diagnose,
    );
    expect(done.status?.phase).toBe('Succeeded');
    expect(admitter.admissions.some((x) => x.group === `${ns}/later`)).toBe(true);
  });

  it.each([
    { provider: 'volcano', apiVersion: 'scheduling.volcano.sh/v1beta1', schedulerName: 'volcano' },
    {
      provider: 'coscheduling',
      apiVersion: 'scheduling.x-k8s.io/v1alpha1',
      schedulerName: 'scheduler-plugins-scheduler',
    },
  ])(
    '$provider: an owned PodGroup kept through a gang restart and deleted with the job',
    async ({ provider, apiVersion, schedulerName }) => {
      const name = `pg-${provider.slice(0, 4)}`;
      const [group, version] = apiVersion.split('/');
      await jobs.create(
        name,
        spec(
          2,
          { provider, minAvailable: 2, scheduleTimeoutSeconds: 300 },
          { FAKE_EXIT_AFTER_MS: '1500', FAKE_EXIT_CODE: '1', FAKE_ONLY_GENERATION: '0' },
        ),
      );
      const readGroup = () =>
        custom.getNamespacedCustomObject({
          group,
          version,
          namespace: ns,
          plural: 'podgroups',
          name,
        }) as Promise<{
          metadata: { uid: string; ownerReferences: { kind: string; name: string }[] };
          spec: { minMember: number; minResources?: Record<string, unknown> };
        }>;
      const pg = await pollUntil(() => readGroup().catch(() => undefined), {
        timeoutMs: 60_000,
        description: `PodGroup ${name}`,
      });
      expect(pg.spec).toMatchObject({ minMember: 2, minResources: { 'nvidia.com/gpu': 2 } });
      expect(pg.metadata.ownerReferences).toMatchObject([{ kind: 'JCLTrainingJob', name }]);
      /** Plays the gang scheduler's final step for every unbound pod of the gang. */
      const bindAll = async (generation: string) => {
        const pods = await pollUntil(
          async () => {
            const ps = (await workerPods(name)).filter(
              (p) => p.metadata?.labels?.['training.jcl.dev/restart-generation'] === generation,
            );
            return ps.length === 2 ? ps : undefined;
          },
          { timeoutMs: 60_000, description: `generation ${generation} pods of ${name}`, diagnose },
        );
        for (const p of pods) {
          expect(p.spec?.schedulerName).toBe(schedulerName);
          if (p.spec?.nodeName) continue;
          await core.createNamespacedPodBinding({
            name: p.metadata!.name!,
            namespace: ns,
            body: {
              metadata: { name: p.metadata!.name! },
              target: { apiVersion: 'v1', kind: 'Node', name: node.nodeNames[0] },
            },
          });
        }
      };
      await bindAll('0');
      await jobs.waitFor(name, 'gang restart', (j) => (j.status?.restarts ?? 0) >= 1, 120_000, diagnose);
      await bindAll('1');
      const done = await jobs.waitFor(
        name,
        'Succeeded',
        (j) => j.status?.phase === 'Succeeded',
        120_000,
        diagnose,
      );
      expect(done.status?.restartGeneration).toBe(1);
      expect((await readGroup()).metadata.uid).toBe(pg.metadata.uid);
      await deleteJob(name);
      await pollUntil(
        () =>
          readGroup().then(
            () => undefined,
            () => true,
          ),
        {
          timeoutMs: 60_000,
          description: `PodGroup ${name} garbage-collected`,
        },
      );
    },
  );

  it('the apiserver refuses a gang larger than the job and kueue without a queue, naming the field', async () => {
    const refused = async (body: Record<string, unknown>) =>
      jobs.create('bad', body).then(
        () => 'created',
        (err: { body?: string }) =>
          (JSON.parse(err.body ?? '{}') as { message?: string }).message ?? String(err),
      );
    expect(await refused(spec(2, { provider: 'volcano', minAvailable: 3 }))).toContain(
      'spec.runPolicy.schedulingPolicy.minAvailable must be <= spec.workers',
    );
    expect(await refused(spec(2, { provider: 'kueue' }))).toContain('spec.runPolicy.schedulingPolicy.queue');
    expect(await refused(spec(2, { provider: 'slurm' }))).toMatch(
      /provider.*slurm|Unsupported value: "slurm"/,
    );
  });
});
