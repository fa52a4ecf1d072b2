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
  | 'internal';

/** Process exit codes; the operator reads them to tell permanent failures from retryable ones. */
export const EXIT_CODES: Readonly<Record<JclErrorCode, number>> = Object.freeze({
  internal: 1,
  invalid_config: 64, // EX_USAGE: permanent, the job fails at once
  invalid_data: 65, // EX_DATAERR: permanent
  not_found: 66, // EX_NOINPUT: permanent
  numerics_mismatch: 70,
  checkpoint_corrupt: 74,
  peer_lost: 75, // EX_TEMPFAIL: retryable, the gang restarts from the checkpoint
  deadline_exceeded: 75,
  unauthenticated: 77, // EX_NOPERM
  queue_diverged: 76,
});

/** Exit codes that mean a retry cannot help: the operator fails the job instead of restarting the gang. */
export const PERMANENT_EXIT_CODES: ReadonlySet<number> = new Set([64, 65, 66, 77]);

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
      parts.push(cur.message);
      cur = (cur as { cause?: unknown }).cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(': caused by: ');
}
