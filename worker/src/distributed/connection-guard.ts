/**
 * Bookkeeping for connections a worker accepted but has not authenticated yet (raw TCP data plane): every
 * such socket is ours to end. A connection must present a valid hello within `helloTimeoutMs` of being
 * accepted, before and after the gang forms; at most `maxUnauthenticated` may wait at once (further ones
 * are closed on arrival); a refused one gets its verdict byte and is destroyed shortly after, whether or
 * not the other side closes; and `destroyAll` ends every one still waiting, so nothing an outsider holds
 * open keeps the worker process alive.
 */
import type net from 'node:net';
import type { RefusalLog, RefusalReason } from './refusal-log.ts';

/** Longest a freshly accepted connection may take to send its hello (capped by the peer timeout). */
export const HELLO_TIMEOUT_MS = 5_000;
/** Connections waiting for their hello at once; a ring rank is dialled by one or two peers. */
export const MAX_UNAUTHENTICATED = 32;
/** How long a refused socket may linger after its verdict before we destroy it. */
export const REFUSE_LINGER_MS = 500;

export interface ConnectionGuardOptions {
  helloTimeoutMs: number;
  maxUnauthenticated?: number;
  refusals: RefusalLog;
  /** Plane name for the refusal log. */
  plane?: string;
}

export class ConnectionGuard {
  private readonly waiting = new Map<net.Socket, NodeJS.Timeout>();
  private readonly lingering = new Set<net.Socket>();
  private readonly max: number;
  private readonly plane: string;

  constructor(private readonly o: ConnectionGuardOptions) {
    this.max = o.maxUnauthenticated ?? MAX_UNAUTHENTICATED;
    this.plane = o.plane ?? 'data';
  }

  /** Start the hello deadline of a new socket; false (socket destroyed) when too many already wait. */
  admit(sock: net.Socket): boolean {
    if (this.unauthenticated >= this.max) {
      this.o.refusals.note(
        this.plane,
        'connection_limit',
        sock.remoteAddress,
        `more than ${this.max} unauthenticated connections`,
      );
      sock.destroy();
      return false;
    }
    const timer = setTimeout(() => {
      // A loop that was busy past the deadline (a training step, the k-NN baseline on a loaded node) runs
      // expired timers before it reads its sockets: let a hello that is already here be read first.
      setImmediate(() => {
        if (!this.waiting.has(sock)) return;
        this.o.refusals.note(
          this.plane,
          'hello_timeout',
          sock.remoteAddress,
          `no hello within ${this.o.helloTimeoutMs} ms`,
        );
        this.forget(sock);
        sock.destroy();
      });
    }, this.o.helloTimeoutMs);
    this.waiting.set(sock, timer);
    sock.once('close', () => this.forget(sock));
    return true;
  }

  /** The socket presented a valid hello: its owner (the transport) ends it from now on. */
  authenticated(sock: net.Socket): void {
    this.forget(sock);
  }

  /** Refuse: count and log (rate-limited), write `verdict`, and destroy the socket after a short linger. */
  refuse(sock: net.Socket, reason: RefusalReason, phrase: string, verdict: Buffer): void {
    this.o.refusals.note(this.plane, reason, sock.remoteAddress, phrase);
    this.forget(sock);
    sock.removeAllListeners('data');
    this.lingering.add(sock);
    sock.once('close', () => this.lingering.delete(sock));
    // end() alone would wait for the other side's FIN, which an outsider need never send.
    sock.end(verdict);
    setTimeout(() => sock.destroy(), REFUSE_LINGER_MS).unref();
  }

  /** Sockets accepted and not yet authenticated or closed. */
  get unauthenticated(): number {
    return this.waiting.size + this.lingering.size;
  }

  /** Destroy every socket not handed over to a transport (shutdown). */
  destroyAll(): void {
    for (const sock of [...this.waiting.keys(), ...this.lingering]) sock.destroy();
    for (const t of this.waiting.values()) clearTimeout(t);
    this.waiting.clear();
    this.lingering.clear();
    this.o.refusals.flush();
  }

  private forget(sock: net.Socket): void {
    clearTimeout(this.waiting.get(sock));
    this.waiting.delete(sock);
  }
}

/** How long a connection we ended may wait for the other side's FIN once our writes are flushed. */
const END_LINGER_MS = 1_000;
/** Longest an ended connection may take to flush our writes (a hung peer that reads nothing). */
const END_FLUSH_MS = 5_000;

/**
 * End `sock` after its queued writes (and `last`), and destroy it if the other side does not close soon
 * after: `end()` alone waits for the other side's FIN, which a hung or hostile peer need never send.
 */
export function endSoon(sock: net.Socket, last?: Buffer): void {
  const destroy = () => sock.destroy();
  const onFlushed = () => setTimeout(destroy, END_LINGER_MS).unref();
  if (last === undefined) sock.end(onFlushed);
  else sock.end(last, onFlushed);
  setTimeout(destroy, END_FLUSH_MS).unref();
}

/**
 * A hello refused: `reason` is what it is counted as, `phrase` the short text of the rate-limited log line,
 * `detail` the specifics.
 */
export class RefusalError extends Error {
  constructor(
    readonly reason: RefusalReason,
    readonly phrase: string,
    detail = phrase,
  ) {
    super(detail);
  }
}
