/**
 * planActions(job, status, observed, now) → what to create and delete so the cluster matches the status
 * that computeStatus just decided. Pure; the reconciler executes the list. Every action is idempotent
 * (create tolerates AlreadyExists, delete tolerates NotFound), so re-running a plan changes nothing.
 */
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import type { JCLTrainingJob, JobStatus } from '../api/status-schema.ts';
import { buildEvalJob } from '../desired/eval-job.ts';
import { buildPodGroup, KUEUE_RETRIABLE_ANNOTATION, schedulingProvider } from '../desired/gang.ts';
import { buildNetworkPolicy } from '../desired/network-policy.ts';
import { buildService } from '../desired/service.ts';
import { buildWorkerPod } from '../desired/worker-pod.ts';
import type { BuildOptions } from '../desired/options.ts';
import { buildConfigMap } from '../desired/config-map.ts';
import type { TrainingConfig } from '../../../worker/src/config/schema.ts';
import { finishedAtMs } from '../status/evaluation.ts';
import { observePlacement, scheduleTimeoutDueMs } from '../status/gang-placement.ts';
import { podGeneration, podRank } from '../status/observe-pods.ts';

/** The objects a job owns besides pods and evaluation Jobs. */
export type SupportKind = 'service' | 'configMap' | 'secret' | 'networkPolicy' | 'podGroup';

export type Action =
  | { kind: 'ensure'; what: SupportKind; object?: KubernetesObject }
  | { kind: 'create'; object: KubernetesObject }
  | { kind: 'deletePod'; name: string; reason: string; annotateFirst?: Record<string, string> }
  | { kind: 'annotatePod'; name: string; reason: string; annotations: Record<string, string> }
  | { kind: 'deleteJob'; reason: string };

export interface Plan {
  actions: Action[];
  /** Come back after this long even without a watch event (deadline, TTL, progress polling). */
  requeueAfterMs?: number;
}

export interface PlanInput {
  job: JCLTrainingJob;
  status: JobStatus;
  workerPods: readonly V1Pod[];
  evalJobNames: ReadonlySet<string>;
  now: Date;
  opts: BuildOptions;
  /** How often a running job's progress is polled. */
  pollIntervalMs: number;
  /** The validated worker configs (first start, restart); absent only for a job that already failed. */
  configs?: { initial: TrainingConfig; restart: TrainingConfig };
}

const terminated = (p: V1Pod): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
const deleting = (p: V1Pod): boolean =>
  p.metadata?.deletionTimestamp !== undefined && p.metadata?.deletionTimestamp !== null;

export function planActions(input: PlanInput): Plan {
  const { job, status, workerPods, now, opts } = input;
  const actions: Action[] = [];
  const phase = status.phase;
  const generation = status.restartGeneration ?? 0;
  // A finished job under Kueue whose pods did not all succeed: Kueue waits for replacement pods of a
  // pod group with failed or deleted members, keeping its Workload at the head of the queue (a StrictFIFO
  // ClusterQueue then admits nothing else). One annotation on the pods tells Kueue the group is over.
  const finishKueueGroup =
    (phase === 'Succeeded' || phase === 'Failed') &&
    schedulingProvider(job) === 'kueue' &&
    !workerPods.every((p) => p.status?.phase === 'Succeeded');
  const unmarked = (p: V1Pod) =>
    finishKueueGroup && p.metadata?.annotations?.[KUEUE_RETRIABLE_ANNOTATION] !== 'false';
  const groupOver = { [KUEUE_RETRIABLE_ANNOTATION]: 'false' };
  const deletePods = (pods: readonly V1Pod[], reason: string) => {
    for (const p of pods)
      if (!deleting(p))
        actions.push({
          kind: 'deletePod',
          name: p.metadata?.name ?? '',
          reason,
          ...(unmarked(p) ? { annotateFirst: groupOver } : {}),
        });
  };
  let requeueAfterMs: number | undefined;
  const requeueIn = (ms: number) => (requeueAfterMs = Math.max(0, Math.min(requeueAfterMs ?? Infinity, ms)));

  if (phase === 'Succeeded' || phase === 'Failed') {
    // 1. Terminal: clean pods per cleanPodPolicy, run evaluations, then honour ttlSecondsAfterFinished.
    const policy = job.spec.runPolicy.cleanPodPolicy;
    if (policy === 'All') deletePods(workerPods, `job ${phase}, cleanPodPolicy All`);
    if (policy === 'Running')
      deletePods(
        workerPods.filter((p) => !terminated(p)),
        `job ${phase}, cleanPodPolicy Running`,
      );
    const deleted = new Set(actions.map((a) => (a.kind === 'deletePod' ? a.name : '')));
    for (const p of workerPods.filter((w) => unmarked(w) && !deleted.has(w.metadata?.name ?? '')))
      actions.push({
        kind: 'annotatePod',
        name: p.metadata?.name ?? '',
        reason: `job ${phase}: the Kueue pod group is finished`,
        annotations: groupOver,
      });
    if (phase === 'Succeeded') {
      job.spec.evaluation.forEach((_, i) => {
        const built = buildEvalJob(job, i, opts);
        if (!input.evalJobNames.has(built.metadata?.name ?? ''))
          actions.push({ kind: 'create', object: built });
      });
    }
    const ttl = job.spec.runPolicy.ttlSecondsAfterFinished;
    // A failed training runs no follow-ups; a succeeded one waits for them (their results are the point).
    const finishedAt =
      phase === 'Failed'
        ? status.completionTime
          ? Date.parse(status.completionTime)
          : undefined
        : finishedAtMs(status);
    if (ttl !== undefined && finishedAt !== undefined) {
      const dueMs = finishedAt + ttl * 1000 - now.getTime();
      if (dueMs <= 0) actions.push({ kind: 'deleteJob', reason: `ttlSecondsAfterFinished ${ttl} elapsed` });
      else requeueIn(dueMs);
    }
    return { actions, requeueAfterMs };
  }

  actions.push({ kind: 'ensure', what: 'service', object: buildService(job) });
  if (input.configs)
    actions.push({
      kind: 'ensure',
      what: 'configMap',
      object: buildConfigMap(job, input.configs.initial, input.configs.restart),
    });
  // The Secret's token is drawn by the reconciler (randomness is I/O), once per job.
  actions.push({ kind: 'ensure', what: 'secret' });
  actions.push({ kind: 'ensure', what: 'networkPolicy', object: buildNetworkPolicy(job, opts) });
  // The gang's PodGroup lives as long as the job (kept through restarts and suspend; GC deletes it).
  const podGroup = buildPodGroup(job);
  if (podGroup) actions.push({ kind: 'ensure', what: 'podGroup', object: podGroup });

  if (phase === 'Suspended') {
    deletePods(workerPods, 'job suspended');
    return { actions };
  }

  // 2. A gang restart: the old generation goes first; the new one is created only when none is left, so
  //    the stable pod names (the DNS names the workers rendezvous on) are free again.
  const stale = workerPods.filter((p) => podGeneration(p) !== generation);
  deletePods(stale, `gang restart to generation ${generation}`);
  if (stale.length === 0) {
    const present = new Set(workerPods.map(podRank));
    for (let rank = 0; rank < job.spec.workers; rank++) {
      if (!present.has(rank))
        actions.push({ kind: 'create', object: buildWorkerPod(job, rank, generation, opts) });
    }
  }

  const scheduleDue = scheduleTimeoutDueMs(job, observePlacement(workerPods, generation), now);
  if (scheduleDue !== undefined) requeueIn(scheduleDue);
  const deadline = job.spec.runPolicy.activeDeadlineSeconds;
  if (deadline !== undefined && status.startTime)
    requeueIn(Date.parse(status.startTime) + deadline * 1000 - now.getTime());
  if (phase === 'Running') requeueIn(input.pollIntervalMs);
  return { actions, requeueAfterMs };
}
