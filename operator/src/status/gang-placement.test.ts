import { describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import type { JobStatus } from '../api/status-schema.ts';
import { makeJob } from '../testing/make-job.ts';
import { makePod } from '../testing/make-pod.ts';
import { computeStatus } from './compute-status.ts';
import { observePlacement, scheduleTimeoutDueMs } from './gang-placement.ts';

const T0 = '2026-01-01T00:00:00.000Z';
const at = (sec: number) => new Date(Date.parse(T0) + sec * 1000);
const GPU_MSG = '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.';
const waiting = (rank: number, gen = 0) =>
  makePod('demo', rank).generation(gen).createdAt(T0).unschedulable('Unschedulable', GPU_MSG).obj();
const placed = (rank: number) => makePod('demo', rank).createdAt(T0).bound().running().ready().obj();
const pending: JobStatus = { phase: 'Pending', startTime: T0, restarts: 0, restartGeneration: 0 };
const status = (pods: V1Pod[], job = makeJob().workers(2), now = at(10), prev = pending) =>
  computeStatus(job.status(prev).obj(), { workerPods: pods, evalJobs: [], evalPods: [] }, now);

describe('observePlacement', () => {
  it.each([
    { name: 'no pods', pods: [], want: { present: 0, unplaced: 0 } },
    { name: 'all bound', pods: [placed(0), placed(1)], want: { present: 2, unplaced: 0 } },
    {
      name: 'one unschedulable: the scheduler reason and message, waiting since its creation',
      pods: [placed(0), waiting(1)],
      want: {
        present: 2,
        unplaced: 1,
        reason: 'Unschedulable',
        message: GPU_MSG,
        waitingSinceMs: Date.parse(T0),
      },
    },
    {
      name: 'pods of another generation do not count',
      pods: [waiting(0, 1)],
      want: { present: 0, unplaced: 0 },
    },
    {
      name: 'gated by Kueue',
      pods: [
        makePod('demo', 0)
          .unschedulable('SchedulingGated', 'Scheduling is blocked due to non-empty scheduling gates')
          .obj(),
      ],
      want: { unplaced: 1, reason: 'SchedulingGated' },
    },
  ])('$name', ({ pods, want }) => {
    expect(observePlacement(pods, 0)).toMatchObject(want);
  });
});

describe('computeStatus: an unplaceable gang', () => {
  it('sets Unschedulable with the scheduler message and one Warning Event when it turns True', () => {
    const first = status([placed(0), waiting(1)]);
    const cond = first.status.conditions?.find((c) => c.type === 'Unschedulable');
    expect(cond).toMatchObject({ status: 'True', reason: 'Unschedulable' });
    expect(cond?.message).toBe(`1/2 workers cannot be placed (Unschedulable): ${GPU_MSG}`);
    expect(first.status.phase).toBe('Pending');
    expect(first.events).toContainEqual({ type: 'Warning', reason: 'Unschedulable', message: cond?.message });

    const again = status([placed(0), waiting(1)], makeJob().workers(2), at(20), first.status);
    expect(again.events.filter((e) => e.reason === 'Unschedulable')).toEqual([]);

    const later = status([placed(0), placed(1)], makeJob().workers(2), at(30), again.status);
    expect(later.status.conditions?.find((c) => c.type === 'Unschedulable')).toMatchObject({
      status: 'False',
      reason: 'WorkersPlaced',
    });
    expect(later.status.phase).toBe('Running');
  });

  it('adds no condition while the pods are merely not yet scheduled (no scheduler reason)', () => {
    const fresh = status([makePod('demo', 0).obj(), makePod('demo', 1).obj()]);
    expect(fresh.status.conditions?.some((c) => c.type === 'Unschedulable')).toBe(false);
  });

  const timed = (onScheduleTimeout: 'Fail' | 'Requeue') =>
    makeJob().workers(2).gang({ provider: 'none', scheduleTimeoutSeconds: 60, onScheduleTimeout });

  it('fails the job with ScheduleTimeout once scheduleTimeoutSeconds passed unplaced', () => {
    expect(status([placed(0), waiting(1)], timed('Fail'), at(59)).status.phase).toBe('Pending');
    const r = status([placed(0), waiting(1)], timed('Fail'), at(60));
    expect(r.status).toMatchObject({ phase: 'Failed' });
    expect(r.status.message).toContain('gang not placed within scheduleTimeoutSeconds 60');
    expect(r.status.message).toContain('Insufficient nvidia.com/gpu');
    expect(r.status.conditions?.find((c) => c.type === 'Failed')?.reason).toBe('ScheduleTimeout');
    expect(r.events.some((e) => e.reason === 'ScheduleTimeout' && e.type === 'Warning')).toBe(true);
  });

  it('requeues (a new gang generation, no restart counted) with onScheduleTimeout Requeue', () => {
    const r = status([placed(0), waiting(1)], timed('Requeue'), at(61));
    expect(r.status).toMatchObject({ phase: 'Restarting', restartGeneration: 1, restarts: 0 });
    expect(r.status.conditions?.find((c) => c.type === 'Restarting')?.reason).toBe('ScheduleTimeout');
  });

  it('schedules the timeout check: due in the remaining seconds, none once placed', () => {
    const job = timed('Fail').obj();
    expect(scheduleTimeoutDueMs(job, observePlacement([waiting(0)], 0), at(45))).toBe(15_000);
    expect(scheduleTimeoutDueMs(job, observePlacement([placed(0)], 0), at(45))).toBeUndefined();
    expect(scheduleTimeoutDueMs(makeJob().obj(), observePlacement([waiting(0)], 0), at(45))).toBeUndefined();
  });
});
