/**
 * What the worker pods of a job say, reduced to the facts computeStatus needs: which generation they
 * belong to, how many run and are ready, and which failed with what exit code and termination message.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { PERMANENT_EXIT_CODES } from '../../../worker/src/util/errors.ts';
import { LABEL_RANK, LABEL_RESTART_GENERATION } from '../api/constants.ts';

/** One failed worker. */
export interface WorkerFailure {
  rank: number;
  /** undefined when the pod failed without a terminated container (eviction, node loss). */
  exitCode: number | undefined;
  permanent: boolean;
  /** Termination message (the worker's failure reason), else the pod's reason. */
  message: string;
}

export interface WorkerSummary {
  /** Pods of the current restart generation. */
  current: number;
  /** Pods left from earlier generations (a gang restart waits for them to go). */
  stale: number;
  running: number;
  ready: number;
  succeeded: number;
  failures: WorkerFailure[];
  /** Ranks of the current generation that have a pod. */
  ranks: Set<number>;
}

export const podGeneration = (pod: V1Pod): number =>
  Number(pod.metadata?.labels?.[LABEL_RESTART_GENERATION] ?? '0');
export const podRank = (pod: V1Pod): number => Number(pod.metadata?.labels?.[LABEL_RANK] ?? '-1');

/** The failure of a pod, or undefined while it has not failed. */
export function podFailure(pod: V1Pod): WorkerFailure | undefined {
  if (pod.status?.phase !== 'Failed') return undefined;
  const terminated = (pod.status.containerStatuses ?? []).find((c) => c.name === 'worker')?.state?.terminated;
  const exitCode = terminated?.exitCode;
  const message =
    readableMessage((terminated?.message ?? '').trim()) ||
    terminated?.reason ||
    pod.status.reason ||
    pod.status.message ||
    'pod failed';
  return {
    rank: podRank(pod),
    exitCode,
    permanent: exitCode !== undefined && PERMANENT_EXIT_CODES.has(exitCode),
    message,
  };
}

/**
 * `jcl worker` writes {"ok":false,"reason":"invalid_config","exitCode":64,"message":"..."} to its
 * termination log; show "invalid_config: ..." rather than the JSON. Anything else is shown as is.
 */
export function readableMessage(text: string): string {
  if (!text.startsWith('{')) return text;
  try {
    const v = JSON.parse(text) as { reason?: unknown; message?: unknown };
    if (typeof v.message !== 'string') return text;
    return typeof v.reason === 'string' ? `${v.reason}: ${v.message}` : v.message;
  } catch {
    return text;
  }
}

const isReady = (pod: V1Pod): boolean =>
  (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** Summarize the pods of generation `generation`; pods of any other generation count as stale. */
export function summarizeWorkers(pods: readonly V1Pod[], generation: number): WorkerSummary {
  const s: WorkerSummary = {
    current: 0,
    stale: 0,
    running: 0,
    ready: 0,
    succeeded: 0,
    failures: [],
    ranks: new Set(),
  };
  for (const pod of pods) {
    if (podGeneration(pod) !== generation) {
      s.stale++;
      continue;
    }
    s.current++;
    s.ranks.add(podRank(pod));
    const phase = pod.status?.phase;
    if (phase === 'Running') s.running++;
    if (phase === 'Succeeded') s.succeeded++;
    if (phase === 'Running' && isReady(pod)) s.ready++;
    const failure = podFailure(pod);
    if (failure) s.failures.push(failure);
  }
  s.failures.sort((a, b) => Number(b.permanent) - Number(a.permanent) || a.rank - b.rank);
  return s;
}

/** One line for status.message and Events. */
export function describeFailure(f: WorkerFailure): string {
  const code = f.exitCode === undefined ? 'without an exit code' : `with exit code ${f.exitCode}`;
  return `worker rank ${f.rank} failed ${code}: ${f.message}`;
}
