/**
 * A FIFO of frames from one peer with bounded waits: the receive side of every transport. A pending `take`
 * fails with peer_lost after `timeoutMs` without a frame, or as soon as the peer is marked lost.
 */
import { JclError } from '../util/errors.ts';
import type { Frame } from './transport.ts';

interface Waiter {
  resolve(frame: Frame): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class Mailbox {
  private readonly frames: Frame[] = [];
  private waiter: Waiter | null = null;
  private failure: Error | null = null;
  private queuedBytes = 0;

  /** @param describePeer e.g. "rank 2 (10.0.0.7:29500)", used in error messages. */
  constructor(
    private readonly describePeer: string,
    private readonly timeoutMs: number,
  ) {}

  /** The peer is alive but itself waiting (a `waiting` frame): restart the silence deadline. */
  touch(): void {
    const w = this.waiter;
    if (w === null) return;
    clearTimeout(w.timer);
    w.timer = this.startTimer();
  }

  private startTimer(): NodeJS.Timeout {
    return setTimeout(() => {
      this.fail(
        new JclError(
          'peer_lost',
          `peer ${this.describePeer} sent nothing for ${this.timeoutMs} ms (dead or hung)`,
        ),
      );
    }, this.timeoutMs);
  }

  /** True while a take is waiting for a frame. */
  get blocked(): boolean {
    return this.waiter !== null;
  }

  /** Bytes queued and not yet taken (what a peer running ahead costs in memory). */
  get bytes(): number {
    return this.queuedBytes;
  }

  push(frame: Frame): void {
    if (this.failure !== null) return;
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      clearTimeout(w.timer);
      w.resolve(frame);
      return;
    }
    this.frames.push(frame);
    this.queuedBytes += frame.payload.byteLength;
  }

  take(): Promise<Frame> {
    const frame = this.frames.shift();
    if (frame !== undefined) {
      this.queuedBytes -= frame.payload.byteLength;
      return Promise.resolve(frame);
    }
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.waiter !== null)
      return Promise.reject(new Error(`mailbox ${this.describePeer}: concurrent take`));
    return new Promise<Frame>((resolve, reject) => {
      this.waiter = { resolve, reject, timer: this.startTimer() };
    });
  }

  /**
   * Fail the pending take and every take after the frames already queued: frames that arrived before a
   * peer's connection broke are still valid and may be all this rank needed.
   */
  fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    const w = this.waiter;
    this.waiter = null;
    if (w !== null) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  get failed(): Error | null {
    return this.failure;
  }
}
