/**
 * The one error class of the project: a stable code for programs (and exit codes), a message for people,
 * and the underlying cause. Modelled on connect-es `ConnectError`.
 */
export type JclErrorCode =
  | 'invalid_config'
  | 'invalid_data'
  | 'not_found'
  | 'checkpoint_corrupt'
  | 'numerics_mismatch'
  | 'peer_lost'
  | 'unauthenticated'
  | 'deadline_exceeded'
  | 'queue_diverged'
  | 'resume_mismatch'
  | 'internal';

/** Process exit codes; the operator reads them to tell permanent failures from retryable ones. */
export const EXIT_CODES: Readonly<Record<JclErrorCode, number>> = Object.freeze({
  internal: 1,
  invalid_config: 64, // EX_USAGE
  resume_mismatch: 64, // the run directory holds a run this config cannot continue (EX_USAGE)
  invalid_data: 65, // EX_DATAERR
  not_found: 66, // EX_NOINPUT
  numerics_mismatch: 70, // EX_SOFTWARE
  checkpoint_corrupt: 74, // EX_IOERR
  peer_lost: 75, // EX_TEMPFAIL
  deadline_exceeded: 75,
  queue_diverged: 76, // EX_PROTOCOL
  unauthenticated: 77, // EX_NOPERM
});

/** What a restart of the gang (from the last checkpoint) can do about an exit code. */
export type ExitClass = 'permanent' | 'retryable';

/**
 * Every exit code a worker pod can end with, classified on purpose (issue 19). `permanent`: the same
 * config and data fail the same way again, so the operator fails the job at once instead of spending
 * its backoff limit. `retryable`: the cause is outside the run (a peer, the node, time), so the gang
 * restarts from the last checkpoint. docs/ARCHITECTURE.md carries this table; errors.test.ts checks both.
 */
export const EXIT_CODE_CLASSES: Readonly<Record<number, { class: ExitClass; meaning: string }>> =
  Object.freeze({
    1: { class: 'retryable', meaning: 'unexpected error (a bug or the environment: worth one more try)' },
    64: {
      class: 'permanent',
      meaning: 'invalid configuration, or a run directory this config cannot continue',
    },
    65: { class: 'permanent', meaning: 'invalid data (undecodable images, a dataset too small)' },
    66: { class: 'permanent', meaning: 'input not found (dataset, config file, checkpoint)' },
    70: { class: 'permanent', meaning: 'numerics mismatch against the golden vectors (jcl selftest)' },
    74: {
      class: 'permanent',
      meaning: 'checkpoint corrupt (checksum, all candidates): delete or pick another',
    },
    75: { class: 'retryable', meaning: 'a peer was lost or a deadline passed' },
    76: { class: 'retryable', meaning: 'key queues diverged across ranks (a lost or reordered message)' },
    77: { class: 'permanent', meaning: 'unauthenticated: the job token or TLS material is wrong' },
    137: { class: 'retryable', meaning: 'killed (SIGKILL: out of memory, eviction, node loss)' },
    143: { class: 'retryable', meaning: 'terminated (SIGTERM: preemption, pod deletion)' },
  });

/** The class of an exit code; codes the table does not name are retryable (they get the backoff limit). */
export function classifyExitCode(code: number): ExitClass {
  return EXIT_CODE_CLASSES[code]?.class ?? 'retryable';
}

/** Exit codes that mean a retry cannot help: the operator fails the job instead of restarting the gang. */
export const PERMANENT_EXIT_CODES: ReadonlySet<number> = new Set(
  Object.entries(EXIT_CODE_CLASSES)
    .filter(([, c]) => c.class === 'permanent')
    .map(([code]) => Number(code)),
);

export class JclError extends Error {
  override readonly name = 'JclError';
  readonly code: JclErrorCode;
  /** Field-level problems for `invalid_config` (each "path: problem, got value"). */
  readonly details: readonly string[];

  constructor(
    code: JclErrorCode,
    message: string,
    options?: { cause?: unknown; details?: readonly string[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details ?? [];
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

/** Render any thrown value as one line: message plus the chain of causes. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    if (cur instanceof Error) {
      // A message that already quotes its cause is not repeated (no "x: caused by: x").
      if (!parts.some((p) => p.includes(cur instanceof Error ? cur.message : ''))) parts.push(cur.message);
      cur = (cur as { cause?: unknown }).cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(': caused by: ');
}
