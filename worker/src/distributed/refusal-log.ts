/**
 * Rate-limited logging and counting of refused connections and calls (wrong token, failed TLS handshake,
 * silent or excess connections). Anyone who can reach a worker port can make it refuse, so refusals must
 * not grow the log at the outsider's pace: the first refusal of each window is logged at once with its
 * reason and remote address, the rest are only counted, and one summary line with the counts per reason
 * closes the window. The counts by reason (`counts()`, a fixed set of reasons so the metric built from them
 * stays bounded) are served on rank 0's status endpoint and exported by the operator
 * (`jcl_worker_refused_connections_total`, docs/SECURITY.md).
 */
import type { DistLogger } from './log.ts';

/** How long a window lasts: at most two refusal lines per window, whatever the rate. */
export const REFUSAL_LOG_WINDOW_MS = 10_000;

/**
 * Why a connection or call was refused; the `reason` label of the metric. Fixed: a new cause maps onto one
 * of these, so an outsider cannot create series.
 */
export const REFUSAL_REASONS = [
  /** A gRPC call or data-plane hello without the job token, or with another one. */
  'wrong_token',
  /** A data-plane hello that does not decode, names an impossible rank, or an old rendezvous session. */
  'bad_hello',
  /** A TLS client certificate that is not issued for the rank it claims (JCL_TLS_PEER_NAME). */
  'wrong_rank_certificate',
  /** A TLS handshake that failed (no or untrusted client certificate, plaintext on a TLS port, ...). */
  'tls_handshake',
  /** A connection that sent no hello within the hello deadline (a silent socket). */
  'hello_timeout',
  /** A connection over the cap of connections open, or waiting for their hello, at once. */
  'connection_limit',
] as const;

export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export function isRefusalReason(x: unknown): x is RefusalReason {
  return (REFUSAL_REASONS as readonly unknown[]).includes(x);
}

/** What the log says for a reason noted without a detail. */
const PHRASE: Record<RefusalReason, string> = {
  wrong_token: 'missing or wrong job token',
  bad_hello: 'malformed hello',
  wrong_rank_certificate: 'certificate not issued for the rank in the hello',
  tls_handshake: 'TLS handshake failed',
  hello_timeout: 'no hello in time',
  connection_limit: 'too many connections',
};

/** Refusal counts by reason, every reason present (0 when none). */
export type RefusalCounts = Record<RefusalReason, number>;

export function zeroRefusalCounts(): RefusalCounts {
  return Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as RefusalCounts;
}

export interface RefusalLogOptions {
  windowMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export class RefusalLog {
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly total = new Map<string, number>();
  private readonly byReason = zeroRefusalCounts();
  /** Refusals counted but not logged in the current window, by "plane: reason". */
  private readonly suppressed = new Map<string, number>();
  private readonly listeners: Array<() => void> = [];
  private windowEnd = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: DistLogger,
    o: RefusalLogOptions = {},
  ) {
    this.windowMs = o.windowMs ?? REFUSAL_LOG_WINDOW_MS;
    this.now = o.now ?? Date.now;
  }

  /**
   * Record one refusal on `plane` ("data", "rendezvous Join", ...); `detail` is a short phrase for the log
   * line ("no hello within 5000 ms"), never the counted key: counts are kept by the fixed `reason`.
   */
  note(plane: string, reason: RefusalReason, remote: string | undefined, detail = PHRASE[reason]): void {
    const key = `${plane}: ${reason}`;
    const t = this.now();
    if (t >= this.windowEnd) this.flush(); // the summary of the window that ended, before this refusal
    this.total.set(key, (this.total.get(key) ?? 0) + 1);
    this.byReason[reason]++;
    for (const l of this.listeners) l();
    if (t >= this.windowEnd) {
      this.windowEnd = t + this.windowMs;
      this.log.warn(
        { plane, reason, detail, remote, refusedTotal: this.count() },
        `${plane} connection refused: ${detail} (further refusals in the next ${this.windowMs} ms are counted, not logged)`,
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

  /** Every refusal so far by reason, all planes together (what the metric reports). */
  counts(): RefusalCounts {
    return { ...this.byReason };
  }

  /** Call `listener` after each refusal is counted (synchronously: keep it cheap). */
  onRefusal(listener: () => void): void {
    this.listeners.push(listener);
  }

  private count(): number {
    return [...this.total.values()].reduce((a, b) => a + b, 0);
  }
}
