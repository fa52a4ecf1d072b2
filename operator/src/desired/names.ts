/**
 * Deterministic names of everything a JCLTrainingJob owns. Determinism is what makes reconcile idempotent
 * and lets a restarted operator adopt the objects it created before (no generateName anywhere).
 */

/** A DNS-1035 label (Service names, pod hostnames): the job name must be one, with room for our suffixes. */
export const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Longest job name whose worker hostnames stay DNS labels: 63 - "-worker-1023".length. */
export const MAX_JOB_NAME_LENGTH = 51;

/** The headless Service; it is also every worker pod's `subdomain`. */
export const serviceName = (job: string): string => `${job}-workers`;
/** Pod name and hostname of a rank; stable across gang restarts so the coordinator address never changes. */
export const workerPodName = (job: string, rank: number): string => `${job}-worker-${rank}`;
export const configMapName = (job: string): string => `${job}-config`;
export const secretName = (job: string): string => `${job}-token`;
export const networkPolicyName = (job: string): string => `${job}-workers`;
export const evalJobName = (job: string, index: number): string => `${job}-eval-${index}`;

/** rank 0's collective/rendezvous address (the worker contract's JCL_COORDINATOR). */
export const coordinatorAddress = (job: string, namespace: string, port: number): string =>
  `${workerPodName(job, 0)}.${serviceName(job)}.${namespace}.svc:${port}`;

/** Run directory of a job on the checkpoint volume. */
export const runDir = (checkpointMount: string, job: string): string => `${checkpointMount}/${job}`;
