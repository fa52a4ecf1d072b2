/**
 * A Collective decorator that accumulates the wall time spent inside collective calls, so the trainer
 * can report the share of a step spent communicating (including waiting for slower peers).
 */
import type { AllReduceOptions, Collective } from './collective.ts';

export class TimedCollective implements Collective {
  private spentMs = 0;

  constructor(private readonly inner: Collective) {}

  get rank(): number {
    return this.inner.rank;
  }

  get worldSize(): number {
    return this.inner.worldSize;
  }

  /** Milliseconds spent in collectives since the last call, and resets the counter. */
  takeMs(): number {
    const ms = this.spentMs;
    this.spentMs = 0;
    return ms;
  }

  private async time<T>(op: Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await op;
    } finally {
      this.spentMs += performance.now() - t0;
    }
  }

  allReduceMean(buffers: Float32Array[], opts?: AllReduceOptions): Promise<void> {
    return this.time(this.inner.allReduceMean(buffers, opts));
  }

  allGather(local: Float32Array): Promise<Float32Array> {
    return this.time(this.inner.allGather(local));
  }

  broadcast(data: Uint8Array | null, root?: number): Promise<Uint8Array> {
    return this.time(this.inner.broadcast(data, root));
  }

  barrier(): Promise<void> {
    return this.time(this.inner.barrier());
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
