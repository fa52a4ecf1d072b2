/**
 * Whether the current gang is placed, from what the scheduler wrote on the worker pods (PodScheduled=False
 * with reason Unschedulable and its "0/3 nodes are available: 3 Insufficient nvidia.com/gpu" message, or
 * SchedulingGated while Kueue has not admitted the group), and when the schedule timeout is due. Pure.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import { podGeneration } from './observe-pods.ts';

/** The placement of one gang generation. */
export interface GangPlacement {
  /** Current-generation pods that exist and are not terminating. */
  present: number;
  /** Current-generation pods not bound to a node (and not terminating). */
  unplaced: number;
  /** The scheduler's reason on the first such pod (Unschedulable, SchedulingGated, ...). */
  reason?: string;
  /** The scheduler's message on it. */
  message?: string;
  /** Creation time (ms) of the oldest unplaced pod: the gang has waited since then. */
  waitingSinceMs?: number;
}

/** What the pods of `generation` say about their placement. */
export function observePlacement(pods: readonly V1Pod[], generation: number): GangPlacement {
  const present = pods.filter((p) => podGeneration(p) === generation && !p.metadata?.deletionTimestamp);
  const unplaced = present.filter((p) => !p.spec?.nodeName && (p.status?.phase ?? 'Pending') === 'Pending');
  const out: GangPlacement = { present: present.length, unplaced: unplaced.length };
  const explained = unplaced
    .map((p) => p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False'))
    .find((c) => c !== undefined);
  if (explained) {
    out.reason = explained.reason ?? 'Unschedulable';
    out.message = explained.message ?? explained.reason ?? '';
  }
  const created = unplaced
    .map((p) => (p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : NaN))
    .filter((t) => Number.isFinite(t));
  if (created.length > 0) out.waitingSinceMs = Math.min(...created);
  return out;
}

/**
 * Milliseconds until the schedule timeout of spec.runPolicy.schedulingPolicy expires for this placement
 * (<= 0: expired), or undefined when no timeout applies (none configured, or every worker placed).
 */
export function scheduleTimeoutDueMs(
  job: JCLTrainingJob,
  placement: GangPlacement,
  now: Date,
): number | undefined {
  const timeout = job.spec.runPolicy.schedulingPolicy?.scheduleTimeoutSeconds;
  if (timeout === undefined || placement.unplaced === 0 || placement.waitingSinceMs === undefined)
    return undefined;
  return placement.waitingSinceMs + timeout * 1000 - now.getTime();
}

/** The condition message: how many workers wait, and the scheduler's words. */
export function placementMessage(placement: GangPlacement, workers: number): string {
  const why = placement.message ? `: ${placement.message}` : '';
  return `${placement.unplaced}/${workers} workers cannot be placed (${placement.reason ?? 'Pending'})${why}`;
}
