/**
 * status.evaluation from the follow-up Jobs. The evaluator writes a JSON object to its termination
 * message ({"top1": 0.71, ...}); a failure is reported here and never changes the training's phase.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { JCLTrainingJob, EvaluationResult, JobStatus } from '../api/status-schema.ts';
import { evalJobName } from '../desired/names.ts';

const conditionTrue = (job: V1Job, type: string): boolean =>
  (job.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');

function terminationMessage(pods: readonly V1Pod[], jobName: string): string {
  const pod = pods.find(
    (p) =>
      p.metadata?.labels?.['job-name'] === jobName ||
      p.metadata?.labels?.['batch.kubernetes.io/job-name'] === jobName,
  );
  const terminated = pod?.status?.containerStatuses?.find((c) => c.state?.terminated)?.state?.terminated;
  return (terminated?.message ?? '').trim();
}

function parseResult(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** One entry per spec.evaluation item, in order; top1 is the best finished top-1. */
export function computeEvaluation(
  job: JCLTrainingJob,
  evalJobs: readonly V1Job[],
  evalPods: readonly V1Pod[],
  nowIso: string,
): NonNullable<JobStatus['evaluation']> {
  const name = job.metadata?.name ?? '';
  const prev = job.status?.evaluation?.results ?? [];
  const finished = (r: EvaluationResult): EvaluationResult => ({
    ...r,
    completionTime: prev.find((p) => p.jobName === r.jobName && p.completionTime)?.completionTime ?? nowIso,
  });
  const results: EvaluationResult[] = job.spec.evaluation.map((follow, i) => {
    const jobName = evalJobName(name, i);
    const k8sJob = evalJobs.find((j) => j.metadata?.name === jobName);
    if (!k8sJob) return { kind: follow.kind, phase: 'Pending', jobName };
    const text = terminationMessage(evalPods, jobName);
    if (conditionTrue(k8sJob, 'Complete')) {
      const result = parseResult(text);
      return finished(
        result
          ? { kind: follow.kind, phase: 'Succeeded', jobName, result }
          : {
              kind: follow.kind,
              phase: 'Succeeded',
              jobName,
              message: text || 'no result in the termination message',
            },
      );
    }
    if (conditionTrue(k8sJob, 'Failed'))
      return finished({
        kind: follow.kind,
        phase: 'Failed',
        jobName,
        message: text || 'evaluation job failed',
      });
    // Between its pod finishing and the Complete condition a Job has no active pod: still Running, not
    // back to Pending (which would announce a second start).
    const wasRunning = prev.some((p) => p.jobName === jobName && p.phase === 'Running');
    const started =
      (k8sJob.status?.active ?? 0) > 0 ||
      (k8sJob.status?.succeeded ?? 0) > 0 ||
      (k8sJob.status?.failed ?? 0) > 0;
    return { kind: follow.kind, phase: started || wasRunning ? 'Running' : 'Pending', jobName };
  });
  const top1s = results.map((r) => top1Of(r.result)).filter((v): v is number => typeof v === 'number');
  return top1s.length > 0 ? { top1: Math.max(...top1s), results } : { results };
}

/** Top-1 of a result: `top1`, or `value` when `metric` is "top1" (the shape `jcl eval knn` prints). */
export function top1Of(result: Record<string, unknown> | undefined): number | undefined {
  if (!result) return undefined;
  if (typeof result.top1 === 'number') return result.top1;
  return result.metric === 'top1' && typeof result.value === 'number' ? result.value : undefined;
}

/** Whether every follow-up has finished (succeeded or failed). */
export const evaluationDone = (e: JobStatus['evaluation']): boolean =>
  (e?.results ?? []).every((r) => r.phase === 'Succeeded' || r.phase === 'Failed');

/** When the job and all its follow-ups were done (ms since epoch), or undefined while any still runs. */
export function finishedAtMs(status: JobStatus): number | undefined {
  if (!status.completionTime || !evaluationDone(status.evaluation)) return undefined;
  return Math.max(
    Date.parse(status.completionTime),
    ...(status.evaluation?.results ?? []).map((r) => (r.completionTime ? Date.parse(r.completionTime) : 0)),
  );
}

/** What changed between two evaluation statuses, as Events and the Evaluated condition (pure). */
export function evaluationNews(
  prev: JobStatus['evaluation'],
  next: NonNullable<JobStatus['evaluation']>,
): {
  events: { type: 'Normal' | 'Warning'; reason: string; message: string }[];
  condition: { status: 'True' | 'False' | 'Unknown'; reason: string; message: string };
} {
  const events: { type: 'Normal' | 'Warning'; reason: string; message: string }[] = [];
  for (const r of next.results) {
    const before = prev?.results.find((p) => p.jobName === r.jobName)?.phase ?? 'Pending';
    if (before === r.phase) continue;
    const what = `${r.kind} follow-up ${r.jobName}`;
    if (before === 'Pending')
      events.push({ type: 'Normal', reason: 'EvaluationStarted', message: `${what} started` });
    if (r.phase === 'Succeeded') {
      const top1 = top1Of(r.result);
      const shown = top1 === undefined ? (r.message ?? 'no result') : `top-1 ${top1}`;
      events.push({ type: 'Normal', reason: 'EvaluationSucceeded', message: `${what} succeeded: ${shown}` });
    }
    if (r.phase === 'Failed')
      events.push({
        type: 'Warning',
        reason: 'EvaluationFailed',
        message: `${what} failed: ${r.message ?? 'no message'}; see kubectl logs job/${r.jobName}`,
      });
  }
  const total = next.results.length;
  const failed = next.results.filter((r) => r.phase === 'Failed');
  const done = next.results.filter((r) => r.phase === 'Succeeded' || r.phase === 'Failed').length;
  const condition =
    done < total
      ? {
          status: 'Unknown' as const,
          reason: 'EvaluationsRunning',
          message: `${done} of ${total} evaluation follow-ups finished`,
        }
      : failed.length > 0
        ? {
            status: 'False' as const,
            reason: 'EvaluationFailed',
            message: `${failed.length} of ${total} follow-ups failed: ${failed.map((r) => `${r.jobName}: ${r.message ?? ''}`).join('; ')}`,
          }
        : {
            status: 'True' as const,
            reason: 'EvaluationsSucceeded',
            message: `all ${total} evaluation follow-ups succeeded`,
          };
  return { events, condition };
}
