/** Shared fixtures of the computeStatus tests: what the reconciler observed, and a started job's status. */
import type { V1Pod } from '@kubernetes/client-node';
import type { JobStatus } from '../api/status-schema.ts';
import type { Observed } from '../status/observed.ts';

export const NOW = new Date('2026-01-01T01:00:00Z');
export const T0 = '2026-01-01T00:00:00.000Z';

/** Observed with these worker pods and nothing else unless told. */
export const observed = (workerPods: V1Pod[], extra: Partial<Observed> = {}): Observed => ({
  workerPods,
  evalJobs: [],
  evalPods: [],
  ...extra,
});

/** The status of a job that has been Running since T0. */
export const started = (s: JobStatus = {}): JobStatus => ({
  phase: 'Running',
  startTime: T0,
  conditions: [
    { type: 'Created', status: 'True', reason: 'JobCreated', message: '', lastTransitionTime: T0 },
    { type: 'Running', status: 'True', reason: 'AllWorkersRunning', message: '', lastTransitionTime: T0 },
  ],
  restarts: 0,
  restartGeneration: 0,
  ...s,
});
