/**
 * Processes per worker pod (spec.template.procsPerWorker): pod `p` runs the contiguous global ranks
 * p·n .. p·n + n - 1, so the gang has workers·n ranks and most ring neighbours share a pod. The pod's
 * `jcl worker` starts the n processes (worker/src/distributed/pod-processes.ts).
 */
import type { JCLTrainingJob } from '../api/status-schema.ts';

/** Ranks per pod (1 unless set). */
export const procsPerWorker = (job: JCLTrainingJob): number => job.spec.template.procsPerWorker ?? 1;

/** Ranks in the gang: workers × procsPerWorker (the world size the workers and the config see). */
export const worldSize = (job: JCLTrainingJob): number => job.spec.workers * procsPerWorker(job);

/** The first global rank of pod `podIndex`. */
export const firstRank = (job: JCLTrainingJob, podIndex: number): number => podIndex * procsPerWorker(job);
