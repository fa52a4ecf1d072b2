/**
 * Gang scheduling (spec.runPolicy.schedulingPolicy) as pure builders: the PodGroup a gang scheduler reads
 * (Volcano, or scheduler-plugins coscheduling), and the fields each worker pod carries so that its
 * provider treats the workers as one group (schedulerName + group label/annotation, or Kueue's pod-group
 * labels, annotation and scheduling gate). docs/SCHEDULING.md says how each provider is set up.
 */
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import type { SchedulingPolicy, SchedulingProvider } from '../api/job-schema.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import { ownedMetadata } from './labels.ts';

/** Volcano: the pod annotation naming its PodGroup. */
export const VOLCANO_GROUP_ANNOTATION = 'scheduling.k8s.io/group-name';
/** scheduler-plugins coscheduling: the pod label naming its PodGroup. */
export const COSCHEDULING_GROUP_LABEL = 'scheduling.x-k8s.io/pod-group';
/** Kueue's pod-group integration (kueue.sigs.k8s.io/docs/tasks/run/plain_pods). */
export const KUEUE_QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';
export const KUEUE_GROUP_LABEL = 'kueue.x-k8s.io/pod-group-name';
export const KUEUE_GROUP_TOTAL_ANNOTATION = 'kueue.x-k8s.io/pod-group-total-count';
/** The gate Kueue lifts from every pod of a group once it admits the group. */
export const KUEUE_ADMISSION_GATE = 'kueue.x-k8s.io/admission';
/** "false" on a pod of a Kueue pod group: the group is not retried; Kueue finishes its Workload once no pod runs. */
export const KUEUE_RETRIABLE_ANNOTATION = 'kueue.x-k8s.io/retriable-in-group';

/** The scheduler a provider's pods name unless schedulingPolicy.schedulerName overrides it. */
export const DEFAULT_SCHEDULER_NAMES: Readonly<Record<'volcano' | 'coscheduling', string>> = {
  volcano: 'volcano',
  coscheduling: 'scheduler-plugins-scheduler',
};

/** PodGroup apiVersion per provider (the CRDs in test/fixtures/crds are these upstream ones). */
export const PODGROUP_API_VERSIONS: Readonly<Record<'volcano' | 'coscheduling', string>> = {
  volcano: 'scheduling.volcano.sh/v1beta1',
  coscheduling: 'scheduling.x-k8s.io/v1alpha1',
};

/** The job's policy with defaults (provider none when absent). */
export function schedulingPolicy(job: JCLTrainingJob): SchedulingPolicy {
  return job.spec.runPolicy.schedulingPolicy ?? { provider: 'none', onScheduleTimeout: 'Fail' };
}

/** The provider, 'none' when the job has no schedulingPolicy. */
export function schedulingProvider(job: JCLTrainingJob): SchedulingProvider {
  return schedulingPolicy(job).provider;
}

/** Workers that must be placed together: minAvailable, default every worker. */
export function gangSize(job: JCLTrainingJob): number {
  return schedulingPolicy(job).minAvailable ?? job.spec.workers;
}

/** The PodGroup (and Kueue pod group) name: the job's name, stable across gang restarts. */
export function podGroupName(jobName: string): string {
  return jobName;
}

/**
 * `count` times a quantity ("2Gi" × 4 = "8Gi", "500m" × 2 = "1000m", 1 × 8 = 8), or undefined for a form
 * this does not multiply (then the PodGroup has no minResources for it: the scheduler still counts pods).
 */
export function multiplyQuantity(q: string | number, count: number): string | number | undefined {
  if (typeof q === 'number') return q * count;
  const m = /^([0-9]+(?:\.[0-9]+)?)([numkMGTPE]i?)?$/.exec(q);
  if (!m) return undefined;
  const value = Number(m[1]) * count;
  const text = Number.isInteger(value) ? String(value) : String(Number(value.toFixed(6)));
  return `${text}${m[2] ?? ''}`;
}

/** What `gangSize` workers request together (requests, else limits: what the scheduler counts). */
export function gangMinResources(job: JCLTrainingJob): Record<string, string | number> | undefined {
  const r = job.spec.template.resources;
  const perPod: Record<string, string | number> = { ...r?.limits, ...r?.requests };
  const size = gangSize(job);
  const total: Record<string, string | number> = {};
  for (const [name, q] of Object.entries(perPod)) {
    const v = multiplyQuantity(q, size);
    if (v !== undefined) total[name] = v;
  }
  return Object.keys(total).length > 0 ? total : undefined;
}

/** The PodGroup of a volcano or coscheduling gang (owned by the job), or undefined for other providers. */
export function buildPodGroup(job: JCLTrainingJob): KubernetesObject | undefined {
  const policy = schedulingPolicy(job);
  const { provider } = policy;
  if (provider !== 'volcano' && provider !== 'coscheduling') return undefined;
  const minResources = gangMinResources(job);
  const spec: Record<string, unknown> = { minMember: gangSize(job) };
  if (minResources) spec.minResources = minResources;
  if (provider === 'volcano') {
    if (policy.queue) spec.queue = policy.queue;
    if (policy.priorityClass) spec.priorityClassName = policy.priorityClass;
  } else if (policy.scheduleTimeoutSeconds !== undefined) {
    spec.scheduleTimeoutSeconds = policy.scheduleTimeoutSeconds;
  }
  return {
    apiVersion: PODGROUP_API_VERSIONS[provider],
    kind: 'PodGroup',
    metadata: ownedMetadata(job, podGroupName(job.metadata?.name ?? ''), 'gang'),
    spec,
  } as KubernetesObject;
}

/**
 * `pod` with the fields its provider needs to treat it as a member of the job's gang (a copy; `pod` is
 * returned unchanged for provider none). The priority class applies to every provider but never overrides
 * template.priorityClassName.
 */
export function withGangScheduling(job: JCLTrainingJob, pod: V1Pod): V1Pod {
  const policy = schedulingPolicy(job);
  if (policy.provider === 'none') return pod;
  const out = structuredClone(pod);
  const meta = (out.metadata ??= {});
  const spec = (out.spec ??= { containers: [] });
  const group = podGroupName(job.metadata?.name ?? '');
  if (policy.priorityClass && !spec.priorityClassName) spec.priorityClassName = policy.priorityClass;
  switch (policy.provider) {
    case 'volcano':
      spec.schedulerName = policy.schedulerName ?? DEFAULT_SCHEDULER_NAMES.volcano;
      meta.annotations = { ...meta.annotations, [VOLCANO_GROUP_ANNOTATION]: group };
      break;
    case 'coscheduling':
      spec.schedulerName = policy.schedulerName ?? DEFAULT_SCHEDULER_NAMES.coscheduling;
      meta.labels = { ...meta.labels, [COSCHEDULING_GROUP_LABEL]: group };
      break;
    case 'kueue':
      // The gate is Kueue's own (its webhook adds the same one); setting it here means no pod of the group
      // can be placed before the group is admitted, even where the webhook does not watch the namespace.
      meta.labels = {
        ...meta.labels,
        [KUEUE_QUEUE_LABEL]: policy.queue ?? '',
        [KUEUE_GROUP_LABEL]: group,
      };
      meta.annotations = { ...meta.annotations, [KUEUE_GROUP_TOTAL_ANNOTATION]: String(job.spec.workers) };
      spec.schedulingGates = [...(spec.schedulingGates ?? []), { name: KUEUE_ADMISSION_GATE }];
      if (policy.schedulerName) spec.schedulerName = policy.schedulerName;
      break;
  }
  return out;
}
