/**
 * Gang scheduling on the real kube-scheduler (issue 16). Three harness Nodes with 2 nvidia.com/gpu each
 * (6 GPUs); every worker asks for 1 GPU; workers are a stand-in script (the scheduling is under test, not
 * training). What enforces the gang, per test:
 *  - provider none: nothing; the real kube-scheduler places each pod on its own (NodeResourcesFit).
 *  - providers volcano / coscheduling: the operator's PodGroup and schedulerName; no Volcano or
 *    scheduler-plugins scheduler runs here, so the test binds the pods itself (the step such a scheduler
 *    takes once minMember fit) and checks the PodGroup's life: owned, kept through a gang restart, deleted
 *    with the job.
 * Provider kueue runs against real Kueue in kueue.test.ts (the same 8-on-6 difference: nothing starts).
 * The operator runs as a ServiceAccount holding exactly OPERATOR_RULES + GANG_SCHEDULING_RULES.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pollUntil } from '../harness/wait.ts';
import { REPO_ROOT } from '../harness/control-plane.ts';
import { kubectlPath } from '../../operator/src/testing/e2e-kit.ts';
import { GANG_SCHEDULING_RULES } from '../../operator/src/api/rbac.ts';
import { condition, gangSpec as spec, useGangEnvironment } from './support/gang-env.ts';

const run = promisify(execFile);
const env = useGangEnvironment('jcl-gang', {
  nodes: 3,
  gpusPerNode: 2,
  extraRules: [...GANG_SCHEDULING_RULES.volcano, ...GANG_SCHEDULING_RULES.coscheduling],
  beforeStart: async (e) => {
    for (const crd of ['scheduling.volcano.sh_podgroups.yaml', 'scheduling.x-k8s.io_podgroups.yaml']) {
      await run(
        kubectlPath(),
        ['apply', '--server-side', '-f', path.join(REPO_ROOT, 'test/fixtures/crds', crd)],
        { env: { ...process.env, KUBECONFIG: e.plane.kubeconfigPath } },
      );
    }
  },
});
const { core, custom } = env;
const diagnose = () => env.diagnose();
const workerPods = (job: string) => env.workerPods(job);
const eventsOf = (job: string) => env.eventsOf(job);

describe('gang scheduling on the real kube-scheduler', () => {
  it('registers 3 pool Nodes with 2 GPUs each, tainted for this namespace only', async () => {
    for (const name of env.node.nodeNames) {
      const n = await core.readNode({ name });
      expect(n.status?.allocatable?.['nvidia.com/gpu']).toBe('2');
      expect(n.metadata?.labels?.['node.jcl.dev/pool']).toBe(env.node.nodeName);
      expect(n.spec?.taints).toContainEqual({
        key: 'node.jcl.dev/pool',
        value: env.node.nodeName,
        effect: 'NoSchedule',
      });
    }
  });

  it('without a gang, an 8-GPU job on 6 GPUs starts 6 workers; the job says why the rest wait', async () => {
    await env.jobs.create('loose', spec(8, undefined));
    const waiting = await env.jobs.waitFor(
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
    const table = await env.kubectlGet('loose');
    expect(table).toMatch(/SCHEDULING/);
    expect(table).toMatch(/2\/8 workers cannot be placed \(Unschedulable\)/);
    await env.deleteJob('loose');
  });

  it('with onScheduleTimeout Requeue, a gang that cannot be placed is recreated instead of failing the job', async () => {
    await env.jobs.create(
      'again',
      spec(8, { provider: 'none', scheduleTimeoutSeconds: 5, onScheduleTimeout: 'Requeue' }),
    );
    const requeued = await env.jobs.waitFor(
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
    // The new generation is created and placed as far as the GPUs go (6 of 8) again.
    await pollUntil(
      async () => {
        const pods = (await workerPods('again')).filter(
          (p) => p.metadata?.labels?.['training.jcl.dev/restart-generation'] !== '0',
        );
        return pods.length === 8 && pods.filter((p) => p.spec?.nodeName).length === 6 ? true : undefined;
      },
      { timeoutMs: 120_000, description: 'a later generation of again, 6 of 8 placed', diagnose },
    );
    await env.deleteJob('again');
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
      await env.jobs.create(
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
          namespace: env.ns,
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
            namespace: env.ns,
            body: {
              metadata: { name: p.metadata!.name! },
              target: { apiVersion: 'v1', kind: 'Node', name: env.node.nodeNames[0] },
            },
          });
        }
      };
      await bindAll('0');
      await env.jobs.waitFor(name, 'gang restart', (j) => (j.status?.restarts ?? 0) >= 1, 120_000, diagnose);
      await bindAll('1');
      const done = await env.jobs.waitFor(
        name,
        'Succeeded',
        (j) => j.status?.phase === 'Succeeded',
        120_000,
        diagnose,
      );
      expect(done.status?.restartGeneration).toBe(1);
      expect((await readGroup()).metadata.uid).toBe(pg.metadata.uid);
      await env.deleteJob(name);
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
      env.jobs.create('bad', body).then(
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
