/**
 * Rule 4 of computeStatus for an unplaced gang (pure): the schedule timeout that fails or requeues it,
 * and the Unschedulable condition that carries the scheduler's reason while it waits.
 */
import type { JCLTrainingJob, JobStatus, Phase } from '../api/status-schema.ts';
import { setCondition } from './conditions.ts';
import {
  observePlacement,
  placementMessage,
  scheduleTimeoutDueMs,
  type GangPlacement,
} from './gang-placement.ts';
import type { JobEvent, Observed } from './observed.ts';

/** Rule 4b: the gang waited unplaced longer than schedulingPolicy.scheduleTimeoutSeconds. */
export function scheduleTimeout(
  job: JCLTrainingJob,
  placement: GangPlacement,
  now: Date,
): { phase: Phase; reason: string; message: string } | undefined {
  const due = scheduleTimeoutDueMs(job, placement, now);
  const policy = job.spec.runPolicy.schedulingPolicy;
  if (due === undefined || due > 0 || !policy) return undefined;
  const message = `gang not placed within scheduleTimeoutSeconds ${policy.scheduleTimeoutSeconds}: ${placementMessage(placement, job.spec.workers)}`;
  return policy.onScheduleTimeout === 'Requeue'
    ? { phase: 'Restarting', reason: 'ScheduleTimeout', message: `${message}; requeued` }
    : { phase: 'Failed', reason: 'ScheduleTimeout', message };
}

/**
 * The Unschedulable condition: True (with the scheduler's reason, and a Warning Event when it turns True)
 * while workers of the current gang wait unplaced with an explanation; False once they are placed or the
 * job stops waiting.
 */
export function placementCondition(
  conditions: JobStatus['conditions'] & object,
  job: JCLTrainingJob,
  obs: Observed,
  phase: Phase,
  generation: number,
  nowIso: string,
  events: JobEvent[],
) {
  const placement = observePlacement(obs.workerPods, generation);
  const waiting = phase === 'Pending' || phase === 'Running' || phase === 'Restarting';
  const wasTrue = conditions.some((c) => c.type === 'Unschedulable' && c.status === 'True');
  if (waiting && placement.unplaced > 0 && placement.reason) {
    const message = placementMessage(placement, job.spec.workers);
    if (!wasTrue) events.push({ type: 'Warning', reason: 'Unschedulable', message });
    return setCondition(conditions, 'Unschedulable', 'True', placement.reason, message, nowIso);
  }
  if (!wasTrue) return conditions;
  const placed = placement.present > 0 && placement.unplaced === 0;
  return setCondition(
    conditions,
    'Unschedulable',
    'False',
    placed ? 'WorkersPlaced' : phase,
    placed ? 'every worker of the gang is placed' : `phase is ${phase}`,
    nowIso,
  );
}
