/**
 * A rank other than 0 telling rank 0 its refusal counts (Rendezvous.ReportRefusals), so rank 0's Status
 * carries the whole gang's. Event-driven and throttled: nothing is sent while nothing is refused; the
 * first refusal is reported after a short batching delay, later ones at most once per interval, so an
 * outsider refusing at any rate costs rank 0 at most one small call per rank per interval.
 */
import { describeError, JclError } from '../util/errors.ts';
import type { DistLogger } from './log.ts';
import type { RefusalCounts, RefusalLog } from './refusal-log.ts';

/** At most one report per rank per this long (the operator polls every 10 s by default). */
export const REFUSAL_REPORT_INTERVAL_MS = 5_000;
/** Refusals arriving together (a burst of connections) go in one report. */
const FIRST_REPORT_DELAY_MS = 200;

export interface RefusalReporterOptions {
  refusals: RefusalLog;
  /**
   * Deliver `counts` (every refusal so far). A rejection is logged at debug level; one that may pass later
   * (JclError peer_lost or deadline_exceeded: rank 0 busy or restarting) is retried an interval later, any
   * other (a rank 0 that does not know the call) waits for the next refusal.
   */
  send: (counts: RefusalCounts) => Promise<void>;
  log: DistLogger;
  intervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export class RefusalReporter {
  private readonly intervalMs: number;
  private readonly now: () => number;
  private lastSentAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;

  constructor(private readonly o: RefusalReporterOptions) {
    this.intervalMs = o.intervalMs ?? REFUSAL_REPORT_INTERVAL_MS;
    this.now = o.now ?? Date.now;
  }

  /** Report from now on; refusals counted before (during rendezvous) go in the first report. */
  start(): void {
    this.o.refusals.onRefusal(() => this.changed());
    if (Object.values(this.o.refusals.counts()).some((n) => n > 0)) this.changed();
  }

  /** No more reports; waits for one in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  private changed(): void {
    this.dirty = true;
    if (this.stopped || this.timer !== undefined || this.inFlight !== undefined) return;
    const delay = Math.max(FIRST_REPORT_DELAY_MS, this.lastSentAt + this.intervalMs - this.now());
    this.timer = setTimeout(() => this.send(), delay);
    this.timer.unref();
  }

  private send(): void {
    this.timer = undefined;
    this.dirty = false;
    this.lastSentAt = this.now();
    this.inFlight = this.o
      .send(this.o.refusals.counts())
      .catch((err: unknown) => {
        // Counts only grow: the next report carries these too.
        if (err instanceof JclError && (err.code === 'peer_lost' || err.code === 'deadline_exceeded'))
          this.dirty = true;
        this.o.log.debug?.({ err: describeError(err) }, 'refusal report to rank 0 failed');
      })
      .finally(() => {
        this.inFlight = undefined;
        if (this.dirty) this.changed();
      });
  }
}
