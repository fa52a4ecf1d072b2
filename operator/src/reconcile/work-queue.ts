/**
 * A work queue keyed by "namespace/name", like client-go's workqueue: a key is queued at most once, is
 * never processed by two workers at once (a key that changes while in flight is re-queued after), and
 * failures come back with per-key exponential backoff (baseMs · 2^failures, capped at maxMs).
 */

export interface WorkQueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private waiters: Array<(key: string | undefined) => void> = [];
  private closed = false;
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(opts: WorkQueueOptions = {}) {
    this.baseMs = opts.baseDelayMs ?? 5;
    this.maxMs = opts.maxDelayMs ?? 60_000;
  }

  /** Queue a key now (no-op if already queued; deferred if in flight). */
  add(key: string): void {
    if (this.closed) return;
    if (this.inFlight.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.inFlight.add(key);
      waiter(key);
      return;
    }
    this.queued.add(key);
    this.queue.push(key);
  }

  /** Queue a key after a delay; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.closed) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Re-queue after a failure with exponential backoff; returns the delay used. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** n);
    this.addAfter(key, delay);
    return delay;
  }

  /** Reset a key's backoff after a success. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Next key to process, or undefined once the queue is shut down. */
  async get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.inFlight.add(key);
      return key;
    }
    if (this.closed) return undefined;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Mark a key processed; if it changed meanwhile it is queued again. */
  done(key: string): void {
    this.inFlight.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  get length(): number {
    return this.queue.length;
  }

  get busy(): number {
    return this.inFlight.size;
  }

  /** Stop handing out keys; pending get() calls resolve to undefined. */
  shutDown(): void {
    this.closed = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const w of this.waiters) w(undefined);
    this.waiters = [];
  }
}
