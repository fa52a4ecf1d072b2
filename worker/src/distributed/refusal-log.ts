/**
 * Rate-limited logging of refused connections and calls (wrong token, failed TLS handshake, silent or
 * excess connections). Anyone who can reach a worker port can make it refuse, so refusals must not grow
 * the log at the outsider's pace: the first refusal of each window is logged at once with its reason and
 * remote address, the rest are only counted, and one summary line with the counts per reason closes the
 * window. Totals stay available (`totals()`) for tests and diagnostics.
 */
import type { DistLogger } from './log.ts';

/** How long a window lasts: at most two refusal lines per window, whatever the rate. */
export const REFUSAL_LOG_WINDOW_MS = 10_000;

export interface RefusalLogOptions {
  windowMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export class RefusalLog {
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly total = new Map<string, number>();
  /** Refusals counted but not logged in the current window, by reason. */
  private readonly suppressed = new Map<string, number>();
  private windowEnd = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: DistLogger,
    o: RefusalLogOptions = {},
  ) {
    this.windowMs = o.windowMs ?? REFUSAL_LOG_WINDOW_MS;
    this.now = o.now ?? Date.now;
  }

  /** Record one refusal; `reason` should be a short, fixed phrase ("wrong job token"), not a message. */
  note(plane: string, reason: string, remote: string | undefined): void {
    const key = `${plane}: ${reason}`;
    const t = this.now();
    if (t >= this.windowEnd) this.flush(); // the summary of the window that ended, before this refusal
    this.total.set(key, (this.total.get(key) ?? 0) + 1);
    if (t >= this.windowEnd) {
      this.windowEnd = t + this.windowMs;
      this.log.warn(
        { plane, reason, remote, refusedTotal: this.count() },
        `${plane} connection refused: ${reason} (further refusals in the next ${this.windowMs} ms are counted, not logged)`,
      );
      return;
    }
    this.suppressed.set(key, (this.suppressed.get(key) ?? 0) + 1);
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), Math.max(0, this.windowEnd - t));
      this.timer.unref();
    }
  }

  /** Log the counts suppressed so far (at the end of each window and on close). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.suppressed.size === 0) return;
    const counts = Object.fromEntries(this.suppressed);
    const n = [...this.suppressed.values()].reduce((a, b) => a + b, 0);
    this.suppressed.clear();
    this.log.warn(
      { refused: counts, refusedTotal: this.count() },
      `${n} more connection(s) refused in the last ${this.windowMs} ms`,
    );
  }

  /** Every refusal so far, by "plane: reason". */
  totals(): Record<string, number> {
    return Object.fromEntries(this.total);
  }

  private count(): number {
    return [...this.total.values()].reduce((a, b) => a + b, 0);
  }
}
