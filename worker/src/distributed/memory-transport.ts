/**
 * In-memory transport: a full mesh of mailboxes inside one process, for testing the collective algorithms
 * without sockets. Payloads are copied on send, as a wire would.
 */
import { JclError } from '../util/errors.ts';
import { Mailbox } from './mailbox.ts';
import type { Frame, Transport } from './transport.ts';

/** Create `worldSize` connected transports; `timeoutMs` bounds every receive. */
export function createMemoryTransports(
  worldSize: number,
  opts: { timeoutMs?: number } = {},
): MemoryTransport[] {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  // boxes[dst][src]: frames travelling from src to dst.
  const boxes: Mailbox[][] = [];
  for (let dst = 0; dst < worldSize; dst++) {
    boxes.push(Array.from({ length: worldSize }, (_, src) => new Mailbox(`rank ${src}`, timeoutMs)));
  }
  return Array.from({ length: worldSize }, (_, rank) => new MemoryTransport(rank, worldSize, boxes));
}

export class MemoryTransport implements Transport {
  private closed = false;

  constructor(
    readonly rank: number,
    readonly worldSize: number,
    private readonly boxes: Mailbox[][],
  ) {}

  async send(peer: number, frame: Frame): Promise<void> {
    this.checkPeer(peer);
    if (this.closed) throw new JclError('internal', `rank ${this.rank}: send after close`);
    this.boxes[peer][this.rank].push({ ...frame, payload: frame.payload.slice() });
  }

  recv(peer: number): Promise<Frame> {
    this.checkPeer(peer);
    return this.boxes[this.rank][peer].take();
  }

  abort(reason: JclError): void {
    for (let peer = 0; peer < this.worldSize; peer++) {
      if (peer === this.rank) continue;
      this.boxes[peer][this.rank].fail(
        new JclError('peer_lost', `rank ${this.rank} aborted: ${reason.message}`, { cause: reason }),
      );
    }
    this.closed = true;
  }

  /** Simulate this rank dying: every peer's receive from it fails at once. */
  kill(): void {
    for (let peer = 0; peer < this.worldSize; peer++) {
      this.boxes[peer][this.rank].fail(
        new JclError('peer_lost', `lost rank ${this.rank}: connection closed`),
      );
    }
    this.closed = true;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkPeer(peer: number): void {
    if (!Number.isInteger(peer) || peer < 0 || peer >= this.worldSize || peer === this.rank) {
      throw new RangeError(
        `rank ${this.rank}: peer must be another rank in [0, ${this.worldSize}), got ${peer}`,
      );
    }
  }
}
