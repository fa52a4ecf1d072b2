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
import type { Condition, ConditionType, JCLTrainingJob, JobStatus, Phase } from '../api/status-schema.ts';
import { isTrue, phaseConditions, setCondition } from './conditions.ts';
import { checkpointAdvisory, templateAdvisory } from './advisories.ts';
import { decideRunning } from './decide-running.ts';
import { computeEvaluation, evaluationNews } from './evaluation.ts';
import { observePlacement } from './gang-placement.ts';
import type { JobEvent, Observed, StatusResult } from './observed.ts';
import { finalReport, summarizeWorkers } from './observe-pods.ts';
import { placementCondition, scheduleTimeout } from './placement-status.ts';
import { nextProgress } from './progress.ts';

export type { CreateFailure, JobEvent, Observed, ProgressReport, StatusResult } from './observed.ts';

/** Phases in which a gang of the current generation is (being) up; in the others no worker serves the job. */
const LIVE: ReadonlySet<Phase> = new Set<Phase>(['Pending', 'Running', 'Restarting']);

/**
 * The READY count beside the phase (issue 20): the ready workers of the generation the phase is about
 * (a restart decided now counts the new gang, which has no pods yet), and 0 when the phase says no gang
 * runs (Suspended, Succeeded, Failed) though pods may still be terminating.
 */
function readyWorkers(obs: Observed, phase: Phase, generation: number): number {
  return LIVE.has(phase) ? summarizeWorkers(obs.workerPods, generation).ready : 0;
}

const TERMINAL: ReadonlySet<Phase | undefined> = new Set<Phase | undefined>(['Succeeded', 'Failed']);

/** The next status of `job` from what the reconciler observed (the decision order: the file comment). */
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
  const ready = readyWorkers(obs, phase, generation);
  s.workersReady = ready;
  s.ready = `${ready}/${workers}`;
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
