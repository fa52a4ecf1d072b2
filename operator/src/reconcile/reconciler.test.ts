import { describe, expect, it } from 'vitest';
import { makeJob } from '../testing/make-job.ts';
import { FakeKube, silentLogger } from '../testing/fake-kube.ts';
import { DEFAULT_BUILD_OPTIONS } from '../desired/options.ts';
import { Reconciler, type ReconcilerDeps } from './reconciler.ts';

const NOW = new Date('2026-01-01T00:00:10Z');
const setup = (extra: Partial<ReconcilerDeps> = {}) => {
  const kube = new FakeKube();
  const deps: ReconcilerDeps = {
    kube,
    cache: kube,
    opts: DEFAULT_BUILD_OPTIONS,
    log: silentLogger(),
    now: () => NOW,
    newToken: () => 'tok',
    ...extra,
  };
  return { kube, reconciler: new Reconciler(deps), deps };
};
const running = {
  phase: 'Running' as const,
  podIP: '10.0.0.9',
  conditions: [{ type: 'Ready', status: 'True' }],
};

describe('Reconciler', () => {
  it('creates exactly the owned objects, then a second pass writes nothing', async () => {
    const { kube, reconciler } = setup();
    kube.addJob(makeJob().workers(2).obj());
    await reconciler.reconcile('ns', 'demo');
    expect(kube.calls).toEqual([
      'status demo Pending',
      'create Service demo-workers',
      'create ConfigMap demo-config',
      'create Secret demo-token',
      'create NetworkPolicy demo-workers',
      'create Pod demo-worker-0',
      'create Pod demo-worker-1',
    ]);
    kube.calls.length = 0;
    await reconciler.reconcile('ns', 'demo');
    expect(kube.calls).toEqual([]);
  });

  it('a restarted operator adopts what exists: no duplicates, the token is not rotated', async () => {
    const first = setup();
    first.kube.addJob(makeJob().workers(2).obj());
    await first.reconciler.reconcile('ns', 'demo');
    const restarted = new Reconciler({ ...first.deps, newToken: () => 'other' });
    first.kube.calls.length = 0;
    await restarted.reconcile('ns', 'demo');
    expect(first.kube.calls.filter((c) => c.startsWith('create') && !c.includes('AlreadyExists'))).toEqual([
      'create ConfigMap demo-config',
      'create Secret demo-token',
      'create NetworkPolicy demo-workers',
    ]);
    expect(first.kube.ofKind('Pod')).toHaveLength(2);
    expect(await first.kube.readToken('ns', 'demo-token')).toBe('tok');
  });

  it('a lost status race takes no action and asks for a retry', async () => {
    const { kube, reconciler } = setup();
    kube.addJob(makeJob().obj());
    kube.conflictNext = true;
    expect(await reconciler.reconcile('ns', 'demo')).toEqual({ conflict: true });
    expect(kube.ofKind('Pod')).toHaveLength(0);
  });

  it('a job that is gone is done', async () => {
    const { kube, reconciler } = setup();
    expect(await reconciler.reconcile('ns', 'missing')).toEqual({});
    expect(kube.calls).toEqual([]);
  });

  it('restarts the gang: deletes the old generation, then creates the new one', async () => {
    const { kube, reconciler } = setup();
    kube.addJob(makeJob().workers(2).obj());
    await reconciler.reconcile('ns', 'demo');
    kube.setPod('demo-worker-0', running);
    kube.setPod('demo-worker-1', running);
    await reconciler.reconcile('ns', 'demo');
    kube.setPod('demo-worker-1', {
      phase: 'Failed',
      containerStatuses: [
        {
          name: 'worker',
          image: '',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: 75 } },
        },
      ],
    });
    kube.calls.length = 0;
    await reconciler.reconcile('ns', 'demo');
    expect(kube.calls).toEqual([
      'status demo Restarting',
      'delete Pod demo-worker-0',
      'delete Pod demo-worker-1',
    ]);
    kube.calls.length = 0;
    await reconciler.reconcile('ns', 'demo');
    expect(kube.calls).toEqual([
      'status demo Restarting',
      'create Pod demo-worker-0',
      'create Pod demo-worker-1',
    ]);
    expect(
      kube.ofKind('Pod').map((p) => p.metadata?.labels?.['training.jcl.dev/restart-generation']),
    ).toEqual(['1', '1']);
    expect(kube.job().status).toMatchObject({ restarts: 1, restartGeneration: 1 });
    expect(kube.events.map((e) => e.reason)).toContain('GangRestart');
  });

  it('polls rank 0 with the job token while running and records progress', async () => {
    const polled: string[] = [];
    const reports: unknown[] = [];
    const refusals = [{ rank: 0, reason: 'wrong_token', count: 3 }];
    const { kube, reconciler } = setup({
      poll: async (address, token) => (polled.push(`${address} ${token}`), { epoch: 2, loss: 6.1, refusals }),
      onPolled: (job, generation, report) => reports.push([job.metadata?.name, generation, report]),
    });
    kube.addJob(makeJob().obj());
    await reconciler.reconcile('ns', 'demo');
    kube.setPod('demo-worker-0', running);
    await reconciler.reconcile('ns', 'demo');
    const res = await reconciler.reconcile('ns', 'demo');
    expect(polled).toEqual(['10.0.0.9:29501 tok']);
    // The refusal counts go to the metric, not into the status.
    expect(reports).toEqual([['demo', 0, { epoch: 2, loss: 6.1, refusals }]]);
    expect(kube.job().status?.progress).toEqual({ epoch: 2, loss: 6.1, updateTime: NOW.toISOString() });
    expect(res.requeueAfterMs).toBe(10_000);
  });

  it('deletes a finished job after ttlSecondsAfterFinished', async () => {
    const { kube, reconciler } = setup();
    kube.addJob(
      makeJob()
        .ttlSecondsAfterFinished(5)
        .status({ phase: 'Failed', completionTime: '2026-01-01T00:00:00Z' })
        .obj(),
    );
    await reconciler.reconcile('ns', 'demo');
    expect(kube.calls).toContain('delete JCLTrainingJob demo');
  });
});
