/** Labels and owner references shared by every object a job owns. */
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import {
  API_VERSION,
  APP_NAME,
  KIND,
  LABEL_COMPONENT,
  LABEL_INSTANCE,
  LABEL_JOB_NAME,
  LABEL_MANAGED_BY,
  LABEL_NAME,
  LABEL_PART_OF,
  MANAGER_NAME,
} from '../api/constants.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';

export type Component = 'worker' | 'config' | 'token' | 'network' | 'eval' | 'gang';

/** app.kubernetes.io/* plus training.jcl.dev/job-name. */
export function jobLabels(job: JCLTrainingJob, component: Component): Record<string, string> {
  const name = job.metadata?.name ?? '';
  return {
    [LABEL_NAME]: APP_NAME,
    [LABEL_INSTANCE]: name,
    [LABEL_COMPONENT]: component,
    [LABEL_PART_OF]: APP_NAME,
    [LABEL_MANAGED_BY]: MANAGER_NAME,
    [LABEL_JOB_NAME]: name,
  };
}

/** Selects this job's worker pods (Service, NetworkPolicy, informer lookups). */
export function workerSelector(jobName: string): Record<string, string> {
  return { [LABEL_JOB_NAME]: jobName, [LABEL_COMPONENT]: 'worker' };
}

/** The controller owner reference: garbage collection deletes the objects with the job. */
export function ownerReference(job: JCLTrainingJob): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: job.metadata?.name ?? '',
    uid: job.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * Metadata of an object the job owns: its name, the job's namespace, the job's labels for `component`
 * (plus `extraLabels`), and the job as controlling owner (garbage collection deletes it with the job).
 */
export function ownedMetadata(
  job: JCLTrainingJob,
  name: string,
  component: Component,
  extraLabels: Record<string, string> = {},
): V1ObjectMeta {
  return {
    name,
    namespace: job.metadata?.namespace,
    labels: { ...jobLabels(job, component), ...extraLabels },
    ownerReferences: [ownerReference(job)],
  };
}
