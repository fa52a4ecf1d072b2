/**
 * computeStatus(job, observed, now) → the next status and the Events that explain it. Pure: the reconcile
 * loop does the reads before and the one status write after.
 *
 * The decision order (first match wins):
 *  1. a terminal job (Succeeded/Failed) stays terminal; only counters and evaluation results move;
 *  2. a spec the worker would reject (exit 64 on start) fails the job at once (reason InvalidSpec);
 *  3. suspend → Suspended (the reconciler deletes the workers; checkpoints stay on the volume);
 *     leaving Suspended starts a new gang generation that resumes from the latest checkpoint;
 *  4. activeDeadlineSeconds after startTime → Failed, reason DeadlineExceeded; a gang left unplaced past
 *     schedulingPolicy.scheduleTimeoutSeconds → Failed or (onScheduleTimeout Requeue) recreated, reason
 *     ScheduleTimeout; while workers wait unplaced the Unschedulable condition carries the scheduler's reason;
 *  5. a failed worker (or a fault reported by rank 0's status endpoint): a permanent exit code fails the
 *     job (reason PermanentError, the termination message in status.message); otherwise the whole gang
 *     is restarted with restartGeneration + 1, up to runPolicy.backoffLimit (then BackoffLimitExceeded);
 *  6. pods of an earlier generation still exist → Restarting (the new gang waits for them to go);
 *  7. every rank Succeeded → Succeeded; every rank Running → Running; else Pending (or still Restarting).
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { Condition, ConditionType, JCLTrainingJob, JobStatus, Phase } from '../api/status-schema.ts';
import { isTrue, setCondition } from './conditions.ts';
import { checkpointAdvisory, templateAdvisory } from './advisories.ts';
import { computeEvaluation, evaluationNews } from './evaluation.ts';
import {
  observePlacement,
  placementMessage,
  scheduleTimeoutDueMs,
  type GangPlacement,
} from './gang-placement.ts';
import { workerPodName } from '../desired/names.ts';
import {
  describeFailure,
  finalReport,
  summarizeWorkers,
  type WorkerFailure,
  type WorkerSummary,
} from './observe-pods.ts';
import { nextProgress } from './progress.ts';

/** What rank 0's status endpoint reported (the poller is injected into the reconciler). */
export interface ProgressReport {
  epoch?: number;
  step?: number;
  loss?: number;
  imagesPerSec?: number;
  lastCheckpoint?: string;
  /** A fault the workers detected (e.g. a lost peer); treated like a failed worker. */
  fault?: string;
  /** The rank the fault is about (the lost peer), when the worker named one. */
  faultPeerRank?: number;
}

/** Everything the reconciler read for one job. */
export interface Observed {
  /** This job's worker pods, every generation. */
  workerPods: readonly V1Pod[];
  evalJobs: readonly V1Job[];
  evalPods: readonly V1Pod[];
  /** undefined when rank 0 was not polled (not running) or did not answer. */
  progress?: ProgressReport;
  /** Why buildTrainingConfig rejected the spec, if it did. */
  specProblem?: string;
  /** The last create of a child object the apiserver refused (until creates succeed again). */
  createFailure?: CreateFailure;
}

/** A refused create, in one line: `cannot create Service x-workers: Invalid: <apiserver message>`. */
export interface CreateFailure {
  reason: string;
  message: string;
}

export interface JobEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface StatusResult {
  status: JobStatus;
  events: JobEvent[];
}

const TERMINAL: ReadonlySet<Phase | undefined> = new Set<Phase | undefined>(['Succeeded', 'Failed']);

export function computeStatus(job: JCLTrainingJob, obs: Observed, now: Date): StatusResult {
  const nowIso = now.toISOString();
  const prev: JobStatus = job.status ?? {};
  const s: JobStatus = structuredClone(prev);
  const events: JobEvent[] = [];
  const { workers, runPolicy } = job.spec;
  let generation = prev.restartGeneration ?? 0;
  let restarts = prev.restarts ?? 0;
  let conditions = s.conditions ?? [];
  const cond = (type: ConditionType, status: Condition['status'], reason: string, message: string) => {
    conditions = setCondition(conditions, type, status, reason, message, nowIso);
  };

  if (!conditions.some((c) => c.type === 'Created')) {
    cond(
      'Created',
      'True',
      'JobCreated',
      `JCLTrainingJob ${job.metadata?.name} with ${workers} workers is created`,
    );
    events.push({ type: 'Normal', reason: 'Created', message: `created with ${workers} workers` });
  }

  let phase: Phase;
  let reason = '';
  let message: string;
  let summary = summarizeWorkers(obs.workerPods, generation);
  const elapsedSec = prev.startTime ? (now.getTime() - Date.parse(prev.startTime)) / 1000 : 0;

  if (TERMINAL.has(prev.phase)) {
    phase = prev.phase as Phase;
    message = prev.message ?? '';
  } else if (obs.specProblem) {
    [phase, reason, message] = ['Failed', 'InvalidSpec', obs.specProblem];
  } else if (runPolicy.suspend) {
    [phase, reason, message] = ['Suspended', 'JobSuspended', 'suspended: workers removed, checkpoints kept'];
  } else if (
    prev.startTime &&
    runPolicy.activeDeadlineSeconds !== undefined &&
    elapsedSec >= runPolicy.activeDeadlineSeconds
  ) {
    [phase, reason, message] = [
      'Failed',
      'DeadlineExceeded',
      `running for ${Math.floor(elapsedSec)}s exceeds activeDeadlineSeconds ${runPolicy.activeDeadlineSeconds}`,
    ];
  } else {
    if (prev.phase === 'Suspended' && prev.startTime) {
      // Resume: a fresh gang that reads the restart config (latest checkpoint of the run directory).
      generation++;
      summary = summarizeWorkers(obs.workerPods, generation);
      events.push({
        type: 'Normal',
        reason: 'Resumed',
        message: `resumed as restart generation ${generation}`,
      });
      s.startTime = nowIso;
    }
    const timedOut = scheduleTimeout(job, observePlacement(obs.workerPods, generation), now);
    if (timedOut) {
      ({ phase, reason, message } = timedOut);
      events.push({ type: 'Warning', reason, message });
      // Requeue: the unplaced gang is deleted (it holds what it got) and created again, as a restart that
      // does not count against backoffLimit.
      if (phase === 'Restarting') generation++;
    } else {
      ({ phase, reason, message, generation, restarts } = decideRunning(
        job,
        summary,
        obs,
        prev.phase,
        generation,
        restarts,
        events,
      ));
    }
  }
  conditions = placementCondition(conditions, job, obs, phase, generation, nowIso, events);

  if (obs.createFailure && !TERMINAL.has(phase)) {
    cond('CreateFailed', 'True', obs.createFailure.reason, obs.createFailure.message);
    if (phase === 'Pending' || phase === 'Restarting') message = obs.createFailure.message;
  } else if (conditions.some((c) => c.type === 'CreateFailed' && c.status === 'True'))
    cond('CreateFailed', 'False', 'Created', 'every object was created');

  if (!TERMINAL.has(phase)) {
    const advisories = [
      checkpointAdvisory(job),
      templateAdvisory(job, obs.workerPods, generation, conditions),
    ];
    for (const a of advisories) {
      if (!a) continue;
      if (a.status === 'True' && !isTrue(conditions, a.type))
        events.push({ type: 'Warning', reason: a.reason, message: a.message });
      cond(a.type, a.status, a.reason, a.message);
    }
  }

  if (phase !== 'Suspended' && !TERMINAL.has(phase) && !s.startTime) s.startTime = nowIso;
  if (TERMINAL.has(phase) && !s.completionTime) s.completionTime = nowIso;
  if (!TERMINAL.has(prev.phase))
    conditions = phaseConditions(conditions, prev.phase, phase, reason, message, nowIso);

  if (phase !== prev.phase) {
    events.push({
      type: phase === 'Failed' || phase === 'Restarting' ? 'Warning' : 'Normal',
      reason: reason || phase,
      message: message || `phase ${phase}`,
    });
  }
  s.phase = phase;
  s.message = message;
  s.conditions = conditions;
  s.workers = workers;
  s.workersReady = summary.ready;
  s.ready = `${summary.ready}/${workers}`;
  s.restarts = restarts;
  s.restartGeneration = generation;
  s.observedGeneration = job.metadata?.generation;
  let report = obs.progress;
  if (phase === 'Succeeded' && !TERMINAL.has(prev.phase)) {
    // The last poll may be a checkpoint or more behind: rank 0's final word is the truth.
    const last = finalReport(obs.workerPods, generation);
    if (last)
      report = {
        ...prev.progress,
        ...last,
        epoch: job.spec.training.optim.epochs ?? prev.progress?.epoch,
      };
  }
  const progress = nextProgress(prev.progress, report, nowIso);
  if (progress) s.progress = progress;
  if (phase === 'Succeeded' && job.spec.evaluation.length > 0) {
    s.evaluation = computeEvaluation(job, obs.evalJobs, obs.evalPods, nowIso);
    const news = evaluationNews(prev.evaluation, s.evaluation);
    events.push(...news.events);
    const c = news.condition;
    if (c.status === 'False' && !conditions.some((x) => x.type === 'Evaluated'))
      cond('Evaluated', 'Unknown', c.reason, c.message);
    conditions = setCondition(conditions, 'Evaluated', c.status, c.reason, c.message, nowIso);
    s.conditions = conditions;
  }
  return { status: s, events };
}

/** Rule 4b: the gang waited unplaced longer than schedulingPolicy.scheduleTimeoutSeconds. */
function scheduleTimeout(
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
function placementCondition(
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

interface RunningDecision {
  phase: Phase;
  reason: string;
  message: string;
  generation: number;
  restarts: number;
}

/** Rules 5-7 of the file comment. */
function decideRunning(
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

/** The condition set that mirrors the phase (Running/Restarting/Suspended are exclusive, terminal ones stick). */
function phaseConditions(
  conditions: JobStatus['conditions'] & object,
  prevPhase: Phase | undefined,
  phase: Phase,
  reason: string,
  message: string,
  nowIso: string,
) {
  let c = conditions;
  const set = (type: ConditionType, on: boolean, r: string, m: string) =>
    (c = setCondition(c, type, on ? 'True' : 'False', r, m, nowIso));
  for (const type of ['Running', 'Restarting', 'Suspended'] as const) {
    if (type === phase) set(type, true, reason, message);
    else if (c.some((x) => x.type === type && x.status === 'True'))
      set(type, false, reason || phase, `phase is ${phase}`);
  }
  if (phase === 'Succeeded' || phase === 'Failed') set(phase, true, reason, message);
  if (prevPhase === 'Suspended' && phase !== 'Suspended') set('Suspended', false, 'JobResumed', 'resumed');
  return c;
}
