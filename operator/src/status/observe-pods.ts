/**
 * What the worker pods of a job say, reduced to the facts computeStatus needs: which generation they
 * belong to, how many run and are ready, and which failed with what exit code and termination message.
 */
import { constants } from 'node:os';
import type { V1Pod } from '@kubernetes/client-node';
import { PERMANENT_EXIT_CODES } from '../../../worker/src/util/errors.ts';
import { LABEL_RANK, LABEL_RESTART_GENERATION } from '../api/constants.ts';

/** One failed worker. */
export interface WorkerFailure {
  rank: number;
  /** The pod's name ('' when it is gone). */
  pod: string;
  /** undefined when the pod failed without a terminated container (eviction, node loss, deletion). */
  exitCode: number | undefined;
  permanent: boolean;
  /** Why, first: OOMKilled, the signal, the exit code's meaning, the eviction reason. */
  cause: string;
  /** What the worker said last: its termination message, or a short excerpt of its log tail. */
  message: string;
  /** When the container stopped (ms since epoch), to blame the worker that failed first. */
  finishedAtMs?: number;
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
  /** Current-generation pods being deleted (deletionTimestamp set) that have not failed: rank → pod name. */
  deleting: Map<number, string>;
}

export const podGeneration = (pod: V1Pod): number =>
  Number(pod.metadata?.labels?.[LABEL_RESTART_GENERATION] ?? '0');
export const podRank = (pod: V1Pod): number => Number(pod.metadata?.labels?.[LABEL_RANK] ?? '-1');

/** The failure of a pod, or undefined while it has not failed. */
export function podFailure(pod: V1Pod): WorkerFailure | undefined {
  if (pod.status?.phase !== 'Failed') return undefined;
  const terminated = (pod.status.containerStatuses ?? []).find((c) => c.name === 'worker')?.state?.terminated;
  const exitCode = terminated?.exitCode;
  const finished = terminated?.finishedAt ? new Date(terminated.finishedAt).getTime() : NaN;
  return {
    rank: podRank(pod),
    pod: pod.metadata?.name ?? '',
    exitCode,
    permanent: exitCode !== undefined && PERMANENT_EXIT_CODES.has(exitCode),
    cause: terminated
      ? exitCause(exitCode, terminated.reason)
      : [pod.status.reason, pod.status.message].filter(Boolean).join(': ') || 'pod failed',
    message: logExcerpt(terminated?.message ?? ''),
    ...(Number.isFinite(finished) ? { finishedAtMs: finished } : {}),
  };
}

/** What an exit code means to the operator (the worker contract, worker/src/util/errors.ts). */
const EXIT_MEANINGS: Readonly<Record<number, string>> = {
  1: 'internal error',
  64: 'invalid configuration, permanent',
  65: 'invalid data, permanent',
  66: 'input not found, permanent',
  70: 'numerics mismatch between workers',
  74: 'corrupt checkpoint',
  75: 'lost a peer or timed out, retryable',
  76: 'negative queues diverged',
  77: 'unauthenticated, permanent',
};

const SIGNALS = new Map<number, string>(Object.entries(constants.signals).map(([n, v]) => [v, n]));

/** "OOMKilled (killed by SIGKILL, exit code 137)", "exit code 64 (invalid configuration, permanent)". */
export function exitCause(exitCode: number | undefined, reason: string | undefined): string {
  const signal = exitCode !== undefined && exitCode > 128 ? SIGNALS.get(exitCode - 128) : undefined;
  const code = exitCode === undefined ? 'no exit code' : `exit code ${exitCode}`;
  const detail = signal ? `killed by ${signal}, ${code}` : code;
  if (reason === 'OOMKilled')
    return `OOMKilled (${detail}): out of memory; raise spec.template.resources.limits.memory`;
  if (signal) return `killed by ${signal} (${code})`;
  const meaning = exitCode === undefined ? undefined : EXIT_MEANINGS[exitCode];
  return meaning ? `${code} (${meaning})` : code;
}

/**
 * A short, readable excerpt of a termination message: the worker's own JSON failure line as
 * "reason: message"; a log tail (FallbackToLogsOnError) as its last lines, pino JSON reduced to `msg`
 * (and `err`), at most 300 characters.
 */
export function logExcerpt(text: string, maxChars = 300): string {
  const trimmed = text.trim();
  if (!trimmed) return '';
  const own = readableMessage(trimmed);
  if (own !== trimmed) return clip(own, maxChars);
  const lines = trimmed
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map(logLine);
  const tail: string[] = [];
  for (let i = lines.length - 1, used = 0; i >= 0 && tail.length < 3; i--) {
    if (used + lines[i].length > maxChars && tail.length > 0) break;
    tail.unshift(lines[i]);
    used += lines[i].length + 3;
  }
  return clip(tail.join(' | '), maxChars);
}

function logLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const v = JSON.parse(line) as { msg?: unknown; err?: unknown };
    if (typeof v.msg !== 'string') return line;
    const err = typeof v.err === 'string' ? v.err : (v.err as { message?: unknown } | undefined)?.message;
    return typeof err === 'string' ? `${v.msg}: ${err}` : v.msg;
  } catch {
    return line;
  }
}

const clip = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/**
 * `jcl worker` writes {"ok":false,"reason":"invalid_config","exitCode":64,"message":"..."} to its
 * termination log; show "invalid_config: ..." rather than the JSON. Anything else is shown as is.
 */
export function readableMessage(text: string): string {
  if (!text.startsWith('{') || text.includes('\n')) return text;
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
    deleting: new Map(),
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
    else if (pod.metadata?.deletionTimestamp) s.deleting.set(podRank(pod), pod.metadata.name ?? '');
  }
  // A permanent failure decides the job; otherwise the worker that stopped first is the one to blame
  // (the others usually failed because they lost it).
  s.failures.sort(
    (a, b) =>
      Number(b.permanent) - Number(a.permanent) ||
      (a.finishedAtMs ?? Infinity) - (b.finishedAtMs ?? Infinity) ||
      a.rank - b.rank,
  );
  return s;
}

/** One line for status.message and Events. */
export function describeFailure(f: WorkerFailure): string {
  const who = f.pod ? `worker rank ${f.rank} (pod ${f.pod})` : `worker rank ${f.rank}`;
  return `${who} failed: ${f.cause}${f.message ? `: ${f.message}` : ''}`;
}

/**
 * What rank 0 said when it finished (`jcl worker` writes {"ok":true,"steps":N,"checkpoint":"..."} to
 * its termination log): the last step and checkpoint, which the last poll may have missed.
 */
export function finalReport(
  pods: readonly V1Pod[],
  generation: number,
): { step?: number; lastCheckpoint?: string } | undefined {
  const rank0 = pods.find(
    (p) => podRank(p) === 0 && podGeneration(p) === generation && p.status?.phase === 'Succeeded',
  );
  const text = (rank0?.status?.containerStatuses ?? []).find((c) => c.name === 'worker')?.state?.terminated
    ?.message;
  if (!text?.trim().startsWith('{')) return undefined;
  try {
    const v = JSON.parse(text) as { ok?: unknown; steps?: unknown; checkpoint?: unknown };
    if (v.ok !== true) return undefined;
    return {
      ...(typeof v.steps === 'number' ? { step: v.steps } : {}),
      ...(typeof v.checkpoint === 'string' && v.checkpoint ? { lastCheckpoint: v.checkpoint } : {}),
    };
  } catch {
    return undefined;
  }
}
