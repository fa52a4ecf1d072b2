// Issue 20 item 6: `kubectl get jcljob` shows PHASE and READY side by side; they must never contradict
// each other (READY 2/2 while the phase is Restarting, Suspended or Failed).
import { describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import type { Phase } from '../api/status-schema.ts';
import { makeJob } from '../testing/make-job.ts';
import { makePod } from '../testing/make-pod.ts';
import { NOW, observed, started } from '../testing/status-fixtures.ts';
import type { Observed } from './observed.ts';
import { computeStatus } from './compute-status.ts';

const claimed = () => makeJob().workers(2).checkpoints({ claimName: 'ckpt' });
const up = (rank: number, generation = 0) =>
  makePod('demo', rank).generation(generation).running().ready().obj();
const deleting = (pod: V1Pod): V1Pod => ({
  ...pod,
  metadata: { ...pod.metadata, deletionTimestamp: new Date(NOW.getTime() - 1000) },
});

describe('READY agrees with PHASE', () => {
  it.each<{ name: string; job: ReturnType<typeof claimed>; obs: Observed; phase: Phase; ready: string }>([
    {
      name: 'both ranks running and ready',
      job: claimed().status(started()),
      obs: observed([up(0), up(1)]),
      phase: 'Running',
      ready: '2/2',
    },
    {
      name: 'rank 0 reports a lost peer while both pods still look ready: the restart shows 0/2',
      job: claimed().status(started()),
      obs: observed([up(0), up(1)], {
        progress: { step: 5, fault: 'peer_lost: lost rank 1 (peer rank 1)', faultPeerRank: 1 },
      }),
      phase: 'Restarting',
      ready: '0/2',
    },
    {
      name: 'rank 1 failed, rank 0 still ready: the restart shows 0/2',
      job: claimed().status(started()),
      obs: observed([up(0), makePod('demo', 1).failed(137).obj()]),
      phase: 'Restarting',
      ready: '0/2',
    },
    {
      name: 'the new gang is starting while the old pods terminate',
      job: claimed().status(started({ phase: 'Restarting', restartGeneration: 1, restarts: 1 })),
      obs: observed([deleting(up(0)), up(1, 1)]),
      phase: 'Restarting',
      ready: '1/2',
    },
    {
      name: 'suspended while the workers are still being removed',
      job: claimed().suspend().status(started()),
      obs: observed([deleting(up(0)), deleting(up(1))]),
      phase: 'Suspended',
      ready: '0/2',
    },
    {
      name: 'failed permanently while the other rank still runs',
      job: claimed().status(started()),
      obs: observed([up(0), makePod('demo', 1).failed(64, 'invalid_config: bad').obj()]),
      phase: 'Failed',
      ready: '0/2',
    },
  ])('$name', ({ job, obs, phase, ready }) => {
    const { status } = computeStatus(job.obj(), obs, NOW);
    expect([status.phase, status.ready, status.workersReady]).toEqual([
      phase,
      ready,
      Number(ready.split('/')[0]),
    ]);
  });
});
