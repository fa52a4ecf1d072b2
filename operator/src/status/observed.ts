/**
 * What computeStatus reads and returns: the observations the reconciler gathers for one job (pods,
 * evaluation Jobs, rank 0's progress, refused creates) and the status plus Events it decides.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { JobStatus } from '../api/status-schema.ts';

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
  /**
   * Connections and calls the gang's ranks refused, by rank and reason, as rank 0 served them (only
   * counts above 0); undefined from a worker that predates refusal counts. Feeds a metric, not the status.
   */
  refusals?: WorkerRefusalCount[];
}

/** One rank's count of refusals for one reason (worker/src/distributed/refusal-log.ts REFUSAL_REASONS). */
export interface WorkerRefusalCount {
  rank: number;
  reason: string;
  count: number;
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
