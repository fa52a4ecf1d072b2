/**
 * Polling with deadlines for the e2e harness: every wait names what it waited for and what it saw last,
 * so a timeout in CI says which condition never held instead of "test timed out".
 */

/** Options for {@link pollUntil}. */
export interface PollOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Delay between attempts. */
  intervalMs?: number;
  /** Human description of the awaited condition, used in the timeout error. */
  description: string;
  /** Extra diagnostics appended to the timeout error (for example a component's log tail). */
  diagnose?: () => string | Promise<string>;
  /** Errors for which this returns true end the wait at once (for example "the process exited"). */
  fatal?: (err: unknown) => boolean;
}

/**
 * Calls `probe` until it returns a value other than `undefined`, and returns that value.
 * Errors thrown by `probe` count as "not yet" and the last one is reported on timeout.
 */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  opts: PollOptions,
): Promise<T> {
  const intervalMs = opts.intervalMs ?? 250;
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  let attempts = 0;
  while (true) {
    attempts += 1;
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (err) {
      if (opts.fatal?.(err)) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  const last =
    lastError === undefined ? 'the condition stayed false' : `last error: ${describeError(lastError)}`;
  const extra = opts.diagnose ? `\n${await opts.diagnose()}` : '';
  throw new Error(
    `timed out after ${opts.timeoutMs}ms (${attempts} attempts) waiting for ${opts.description}; ${last}${extra}`,
    {
      cause: lastError,
    },
  );
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One-line description of an unknown thrown value, including a Kubernetes API status message when present. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const body = (err as { body?: unknown }).body;
    const code = (err as { code?: unknown }).code;
    if (body !== undefined)
      return `${err.message} (code ${String(code)}): ${typeof body === 'string' ? body : JSON.stringify(body)}`;
    return err.message;
  }
  return String(err);
}
