/**
 * Rules 5-7 of computeStatus for a job that is neither terminal, suspended nor timed out (pure): a failed
 * worker or a fault rank 0 reported fails the job (permanent exit code, backoffLimit) or restarts the
 * gang, blaming the worker that failed first by pod and rank; otherwise the phase follows the pods.
 */
import type { JCLTrainingJob, Phase } from '../api/status-schema.ts';
import { workerPodName } from '../desired/names.ts';
import { describeFailure, type WorkerFailure, type WorkerSummary } from './observe-pods.ts';
import type { JobEvent, Observed, ProgressReport } from './observed.ts';

export interface RunningDecision {
  phase: Phase;
  reason: string;
  message: string;
  generation: number;
  restarts: number;
}

/** Rules 5-7 of the file comment. */
export function decideRunning(
  job: JCLTrainingJob,
  w: WorkerSummary,
  obs: Observed,
  prevPhase: Phase | undefined,
  generation: number,
  restarts: number,
  events: JobEvent[],
): RunningDecision {
  const { workers, runPolicy } = job.spec;
  const lost = prevPhase === 'Running' ? lostWorkers(w, workers, job.metadata?.name ?? '') : [];
  const failure = w.failures.find((f) => f.permanent) ?? lost[0] ?? w.failures[0];
  const fault = w.current === workers && w.running === workers ? obs.progress?.fault : undefined;
  if (failure || fault) {
    const why = failure ? describeFailure(failure) : describeFault(obs.progress ?? {}, job);
    if (failure?.permanent)
      return { phase: 'Failed', reason: 'PermanentError', message: why, generation, restarts };
    if (restarts >= runPolicy.backoffLimit) {
      return {
        phase: 'Failed',
        reason: 'BackoffLimitExceeded',
        message: `${why}; backoffLimit ${runPolicy.backoffLimit} reached after ${restarts} restarts`,
        generation,
        restarts,
      };
    }
    events.push({
      type: 'Warning',
      reason: 'GangRestart',
      message: `${why}; restarting all ${workers} workers (restart ${restarts + 1} of ${runPolicy.backoffLimit})`,
    });
    return {
      phase: 'Restarting',
      reason: 'WorkerFailed',
      message: why,
      generation: generation + 1,
      restarts: restarts + 1,
    };
  }
  if (w.stale > 0)
    return {
      phase: 'Restarting',
      reason: 'GangRestarting',
      message: `waiting for ${w.stale} pods of earlier generations to terminate`,
      generation,
      restarts,
    };
  if (w.succeeded === workers)
    return {
      phase: 'Succeeded',
      reason: 'TrainingSucceeded',
      message: `all ${workers} workers succeeded`,
      generation,
      restarts,
    };
  if (w.running + w.succeeded === workers && w.running > 0)
    return {
      phase: 'Running',
      reason: 'AllWorkersRunning',
      message: `${workers} workers running`,
      generation,
      restarts,
    };
  const waiting = prevPhase === 'Restarting' ? 'Restarting' : 'Pending';
  return {
    phase: waiting,
    reason: waiting === 'Restarting' ? 'GangRestarting' : 'WorkersStarting',
    message: `${w.running}/${workers} workers running`,
    generation,
    restarts,
  };
}

/** Ranks of a running gang whose pod was deleted (or is being deleted) by someone else. */
function lostWorkers(w: WorkerSummary, workers: number, job: string): WorkerFailure[] {
  const lost: WorkerFailure[] = [];
  for (let rank = 0; rank < workers; rank++) {
    const deleting = w.deleting.get(rank);
    if (w.ranks.has(rank) && deleting === undefined) continue;
    lost.push({
      rank,
      pod: deleting ?? workerPodName(job, rank),
      exitCode: undefined,
      permanent: false,
      cause: deleting ? 'pod deleted while the gang was running' : 'pod gone while the gang was running',
      message: '',
    });
  }
  return lost;
}

/** Rank 0's fault, blaming the peer it names: "worker rank 1 (pod x-worker-1) was lost: rank 0 reported ...". */
function describeFault(p: ProgressReport, job: JCLTrainingJob): string {
  if (p.faultPeerRank === undefined || p.faultPeerRank === 0) return `rank 0 reported a fault: ${p.fault}`;
  const pod = workerPodName(job.metadata?.name ?? '', p.faultPeerRank);
  return `worker rank ${p.faultPeerRank} (pod ${pod}) was lost: rank 0 reported ${p.fault}`;
}
