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
  // Kueue keeps a deleted or failed pod of a pod group (its finalizer) until replacement pods appear, but
  // our replacements reuse the pod names (the stable DNS names of the ranks) and wait for the old pods to
  // be gone: a gang restart, suspend or requeue under Kueue would wait forever, and a finished job's
  // Workload would head a StrictFIFO queue. So a generation whose pods we delete, or that ends without
  // every worker succeeding, is marked over (kueue.x-k8s.io/retriable-in-group=false on its pods): Kueue
  // finalizes that group and the next generation is admitted as a new one.
  const kueue = schedulingProvider(job) === 'kueue';
  const unmarked = (p: V1Pod) => kueue && p.metadata?.annotations?.[KUEUE_RETRIABLE_ANNOTATION] !== 'false';
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
  /** Marks the unmarked pods among `pods` that no deletePod action already marks. */
  const markOver = (pods: readonly V1Pod[], reason: string) => {
    const marked = new Set(actions.map((a) => (a.kind === 'deletePod' && a.annotateFirst ? a.name : '')));
    for (const p of pods)
      if (unmarked(p) && !marked.has(p.metadata?.name ?? ''))
        actions.push({ kind: 'annotatePod', name: p.metadata?.name ?? '', reason, annotations: groupOver });
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
    if (!workerPods.every((p) => p.status?.phase === 'Succeeded'))
      markOver(workerPods, `job ${phase}: the Kueue pod group is over`);
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
    markOver(workerPods.filter(deleting), 'job suspended: the Kueue pod group is over');
    return { actions };
  }

  // 2. A gang restart: the old generation goes first; the new one is created only when none is left, so
  //    the stable pod names (the DNS names the workers rendezvous on) are free again.
  const stale = workerPods.filter((p) => podGeneration(p) !== generation);
  deletePods(stale, `gang restart to generation ${generation}`);
  // Deleted by someone else (a user, an eviction): the generation is over for Kueue too.
  markOver(workerPods.filter(deleting), 'pod deleted: the Kueue pod group of its generation is over');
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
