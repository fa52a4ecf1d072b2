/**
 * The raw TCP data plane (JCL_DATA_PLANE=tcp): the same Frame messages as the gRPC transport, with gRPC's
 * message framing but without HTTP/2 (proto/jcl/v1/worker.proto, DataHello). Rendezvous and status stay on
 * gRPC. It exists because HTTP/2 in Node costs ~2.5x the CPU per byte (docs/BENCHMARKS.md, "Distributed").
 *
 * The receiver dials the sender, as a subscriber does on the gRPC plane: it presents the job token in a
 * DataHello (over TLS when configured, certificates required on both sides) and waits for a one-byte
 * verdict; from then on only the sender writes on that connection. Dialling lets the receiver read into
 * each message's own (recycled) buffer (`onread`, plain TCP) instead of a fresh 64 KiB buffer per read, whose
 * garbage made a 45 MB all-reduce run about one full GC per 45 MB received, and without copying. Payloads are written straight from the
 * caller's memory (header and payload in one writev) and arrive 4-byte aligned (message-reader.ts).
 *
 * Fault model as in grpc-transport.ts: a closed connection fails at once, silence or a stalled send after
 * `peerTimeoutMs`, TCP keepalive in between; errors are JclError('peer_lost') naming rank and address.
 * A sender whose receiver never dials fails its sends after `peerTimeoutMs` the same way.
 *
 * `streams` connections per directed pair (JCL_TCP_STREAMS): frame i goes on stream i % streams and the
 * receiver takes them back in that order. One connection holds at most the kernel's send buffer in flight
 * (net.ipv4.tcp_wmem max, 4 MiB on the bench machine); several keep more of a bucket in the kernel where a
 * link needs it. On 2 loopback workers they were not faster (docs/BENCHMARKS.md, session 7): default 1.
 */
import net from 'node:net';
import { EXIT_CODES, JclError, type JclErrorCode } from '../util/errors.ts';
import { checkPeerRank, describePeer, peerLostError } from './peer-names.ts';
import {
  createSecretChecker,
  expectedPeerName,
  peerCertificateOf,
  rankCertificateProblem,
  type TlsMaterial,
} from './auth.ts';
import { endSoon, RefusalError, type ConnectionGuard } from './connection-guard.ts';
import { acceptDataHello, encodeDataHello } from './data-hello.ts';
import { StreamOrder } from './stream-order.ts';
import { confirmTlsRefusal, dialDataSocket } from './data-dial.ts';
import { tlsMisconfigured } from './tls-errors.ts';
import { encodeFramedDataHeader } from './frame-codec.ts';
import type { DistLogger } from './log.ts';
import { DIST_DEFAULTS, MAX_TCP_STREAMS } from './dist-config.ts';
import { Mailbox } from './mailbox.ts';
import { MessageReader, messagePrefix } from './message-reader.ts';
import type { Frame, Transport } from './transport.ts';
import { frameWireBytes, MAX_CONTROL_MESSAGE_BYTES, messageType, payloadOf, type WireFrame } from './wire.ts';

const FrameType = messageType('Frame');
const ACCEPTED = 1;
const REFUSED_BYTE = Buffer.from([0]);
const WAITING_MESSAGE = ((): Buffer => {
  const body = FrameType.encode({ waiting: true }).finish();
  return Buffer.concat([messagePrefix(body.length), body]);
})();
/** Recycled receive buffers kept per transport: a few chunks in flight per peer. */
const POOL_BUFFERS = 8;

export interface TcpTransportOptions {
  rank: number;
  /** host:data_port of every rank, indexed by rank. */
  peers: readonly string[];
  token: string;
  sessionId: string;
  tls?: TlsMaterial;
  peerTimeoutMs: number;
  chunkBytes: number;
  /** Connections per directed pair, the same on every rank; default DIST_DEFAULTS.tcpStreams. */
  streams?: number;
  /**
   * Ranks to dial at once rather than on the first receive (the ring predecessor: dialling it early also
   * gives it the connection on which its abort reaches this rank).
   */
  dialFrom?: readonly number[];
  log: DistLogger;
}

/** The connections this rank sends on to one peer: the receiver dialled them. */
interface Outbound {
  /** One per stream; null until the receiver has dialled it. */
  socks: (net.Socket | null)[];
  attached: number;
  /** Frames sent so far: the next one goes on stream `sent % streams`. */
  sent: number;
  /** Resolves once the receiver has dialled every stream and been accepted; rejects after peerTimeoutMs. */
  ready: Promise<void>;
  connected: () => void;
  refused: (err: JclError) => void;
  pending: number;
  lastProgressMs: number;
  failure: JclError | null;
  timer: NodeJS.Timeout | undefined;
}

export class TcpTransport implements Transport {
  readonly rank: number;
  readonly worldSize: number;
  private readonly inbox = new Map<number, Mailbox>();
  /** Message buffers handed out by the last recv from each peer, and ones free for reuse. */
  private readonly lent = new Map<number, Buffer>();
  private readonly pool: Buffer[] = [];
  private readonly inbound = new Map<number, net.Socket[]>();
  /** Each peer's frames back in its send order (several streams). */
  private readonly order = new Map<number, StreamOrder<Frame>>();
  private readonly streams: number;
  private readonly outbound = new Map<number, Outbound>();
  private readonly checkToken: (presented: string) => boolean;
  private readonly watchdog: NodeJS.Timeout;
  private closing = false;

  constructor(private readonly o: TcpTransportOptions) {
    this.rank = o.rank;
    this.worldSize = o.peers.length;
    this.checkToken = createSecretChecker(o.token);
    this.streams = o.streams ?? DIST_DEFAULTS.tcpStreams;
    if (!Number.isInteger(this.streams) || this.streams < 1 || this.streams > MAX_TCP_STREAMS)
      throw new RangeError(
        `TcpTransport: streams must be an integer in [1, ${MAX_TCP_STREAMS}], got ${o.streams}`,
      );
    this.watchdog = setInterval(() => this.checkProgress(), Math.max(100, Math.floor(o.peerTimeoutMs / 4)));
    this.watchdog.unref();
    for (const peer of o.dialFrom ?? []) this.dial(peer);
  }

  /**
   * Serve one inbound connection: a receiver's hello, then this rank's frames to it. `guard` (the
   * listener's) holds the hello deadline; a refused connection is handed back to it to be ended.
   */
  onConnection(sock: net.Socket, guard: ConnectionGuard): void {
    sock.setNoDelay(true);
    sock.setKeepAlive(true, Math.max(1_000, Math.floor(this.o.peerTimeoutMs / 3)));
    const reader = new MessageReader(MAX_CONTROL_MESSAGE_BYTES);
    let to = -1;
    const onHello = (m: Buffer): void => {
      if (to >= 0) throw new RangeError('a receiver sends nothing after its hello');
      const { rank: r, stream } = acceptDataHello(m, {
        checkToken: this.checkToken,
        sessionId: this.o.sessionId,
        rank: this.rank,
        worldSize: this.worldSize,
        streams: this.streams,
        taken: (rank, st) => this.outbound.get(rank)?.socks[st] != null,
        certificateProblem: (rank) => rankCertificateProblem(this.o.tls, peerCertificateOf(sock), rank),
      });
      guard.authenticated(sock);
      to = r;
      sock.write(Buffer.from([ACCEPTED]));
      this.attachOutbound(r, stream, sock);
    };
    sock.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, onHello);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        if (to >= 0) this.failOutbound(to, new JclError('internal', `${this.describe(to)} ${why}`));
        else if (err instanceof RefusalError) guard.refuse(sock, err.reason, err.phrase, REFUSED_BYTE);
        else guard.refuse(sock, 'bad_hello', 'malformed hello', REFUSED_BYTE);
      }
    });
    sock.on('error', () => {}); // reported by 'close'
    sock.on('close', () => {
      if (to >= 0) this.failOutbound(to, this.lost(to, 'connection closed'));
    });
    if (this.closing) sock.destroy();
  }

  send(peer: number, frame: Frame): Promise<void> {
    this.checkPeer(peer);
    const out = this.outboundTo(peer);
    if (out.failure !== null) return Promise.reject(out.failure);
    if (out.pending++ === 0) out.lastProgressMs = Date.now();
    // Sends chain on `ready` in call order, so frames keep their order on each connection; the stream is
    // chosen now, in call order, as the receiver expects.
    const stream = out.sent++ % this.streams;
    return out.ready.then(
      () =>
        new Promise<void>((resolve, reject) => {
          const sock = out.socks[stream];
          if (out.failure !== null || sock === null)
            return reject(out.failure ?? this.lost(peer, 'no connection'));
          const p = frame.payload;
          sock.cork();
          sock.write(encodeFramedDataHeader(frame));
          sock.write(Buffer.from(p.buffer, p.byteOffset, p.byteLength), (err) => {
            out.pending--;
            out.lastProgressMs = Date.now();
            if (err) reject(out.failure ?? this.lost(peer, `write failed: ${err.message}`));
            else resolve();
          });
          sock.uncork();
        }),
    );
  }

  recv(peer: number): Promise<Frame> {
    this.checkPeer(peer);
    if (!this.inbound.has(peer) && !this.closing) this.dial(peer);
    // The previous payload from this peer is dead now (Transport contract): recycle its buffer, which
    // saves a fresh 1 MiB allocation, and the GC work for it, per received chunk.
    const prev = this.lent.get(peer);
    if (prev !== undefined && this.pool.length < POOL_BUFFERS) this.pool.push(prev);
    this.lent.delete(peer);
    return this.mailbox(peer)
      .take()
      .then((f) => {
        const mem = f.payload.buffer;
        // Only whole buffers from allocate() are recycled (an empty payload may be a shared constant).
        if (mem instanceof ArrayBuffer && mem.byteLength > frameWireBytes(this.o.chunkBytes))
          this.lent.set(peer, Buffer.from(mem));
        return f;
      });
  }

  private allocate(bytes: number): Buffer {
    const i = this.pool.findIndex((b) => b.byteLength >= bytes);
    return i >= 0
      ? this.pool.splice(i, 1)[0]
      : Buffer.allocUnsafeSlow(Math.max(bytes, frameWireBytes(this.o.chunkBytes) + 1));
  }

  abort(reason: JclError): void {
    const body = FrameType.encode({ abort: { code: reason.code, message: reason.message } }).finish();
    for (const out of this.outbound.values()) {
      if (out.failure !== null) continue;
      for (const sock of out.socks)
        if (sock !== null) endSoon(sock, Buffer.concat([messagePrefix(body.length), body]));
    }
    for (const box of this.inbox.values()) box.fail(reason);
    void this.close();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.watchdog);
    for (const out of this.outbound.values()) {
      clearTimeout(out.timer);
      out.failure ??= new JclError('internal', `rank ${this.rank}: transport closed`);
      out.refused(out.failure);
      for (const sock of out.socks) if (sock !== null) endSoon(sock); // after the queued writes
    }
    for (const socks of this.inbound.values()) for (const s of socks) s.destroy();
  }

  /** Dial `peer` to receive from it, once per stream: hello, verdict, then its frames into the mailbox. */
  private dial(peer: number): void {
    if (this.inbound.has(peer)) return;
    const socks: net.Socket[] = [];
    this.inbound.set(peer, socks);
    this.order.set(peer, new StreamOrder<Frame>(this.streams));
    for (let s = 0; s < this.streams; s++) socks.push(this.dialStream(peer, s));
  }

  private dialStream(peer: number, stream: number): net.Socket {
    const reader = new MessageReader(frameWireBytes(this.o.chunkBytes), (bytes) => this.allocate(bytes));
    let verdict: number | null = null;
    const onBytes = (bytes: Buffer): void => {
      let rest = bytes;
      if (verdict === null) {
        verdict = rest[0];
        clearTimeout(timer);
        rest = rest.subarray(1);
        if (verdict !== ACCEPTED) {
          const err = new JclError(
            'unauthenticated',
            `${this.describe(peer)} refused the data connection (token, session or JCL_TCP_STREAMS)`,
          );
          this.mailbox(peer).fail(err);
          sock.destroy();
          return;
        }
      }
      if (rest.length > 0) {
        try {
          reader.push(rest, (body) => this.onFrame(peer, stream, sock, body));
        } catch (err) {
          this.protocolError(peer, sock, err);
        }
      }
    };
    // Over TLS MessageReader copies out of what it is given synchronously, before the next read. Plain
    // TCP reads the one-byte verdict into its own buffer, then every message straight into its body.
    const verdictByte = Buffer.alloc(1);
    const { sock, readyEvent } = dialDataSocket(
      this.o.peers[peer],
      this.o.tls,
      expectedPeerName(this.o.tls, peer),
      onBytes,
      {
        next: () => (verdict === null ? verdictByte : reader.readBuffer()),
        got: (n) => {
          if (verdict === null) return onBytes(verdictByte.subarray(0, n));
          try {
            reader.commit(n, (body) => this.onFrame(peer, stream, sock, body));
          } catch (err) {
            this.protocolError(peer, sock, err);
          }
        },
      },
    );
    sock.setNoDelay(true);
    sock.setKeepAlive(true, Math.max(1_000, Math.floor(this.o.peerTimeoutMs / 3)));
    const timer = setTimeout(() => {
      this.mailbox(peer).fail(this.lost(peer, `no handshake within ${this.o.peerTimeoutMs} ms`));
      sock.destroy();
    }, this.o.peerTimeoutMs);
    sock.once(readyEvent, () => {
      secured = readyEvent === 'secureConnect';
      const hello = encodeDataHello({
        fromRank: this.rank,
        sessionId: this.o.sessionId,
        token: this.o.token,
        stream,
        streams: this.streams,
      });
      sock.write(Buffer.concat([messagePrefix(hello.length), hello]));
    });
    let failure: Error | undefined;
    let secured = false;
    sock.on('error', (err) => (failure ??= err)); // reported by 'close'
    sock.on('close', () => {
      clearTimeout(timer);
      if (this.closing) return;
      // Closed right after a TLS handshake, before the verdict: perhaps the peer refused our certificate
      // (a TLS 1.3 server just hangs up). Ask again twice before calling it permanent.
      if (verdict === null && secured && failure === undefined && this.o.tls) {
        void confirmTlsRefusal(this.o.peers[peer], this.o.tls, expectedPeerName(this.o.tls, peer)).then(
          (err) =>
            this.mailbox(peer).fail(
              tlsMisconfigured(this.describe(peer), err) ??
                this.lost(peer, 'connection closed during the handshake'),
            ),
        );
        return;
      }
      // A certificate that does not verify fails the same way on every retry: permanent, and named.
      const tlsError = verdict === null ? tlsMisconfigured(this.describe(peer), failure) : undefined;
      const why = verdict === null ? 'connection closed during the handshake' : 'connection closed';
      this.mailbox(peer).fail(tlsError ?? this.lost(peer, failure ? `${why} (${failure.message})` : why));
    });
    return sock;
  }

  private onFrame(from: number, stream: number, sock: net.Socket, body: Buffer): void {
    let f: WireFrame;
    try {
      f = FrameType.decode(body) as unknown as WireFrame;
    } catch (err) {
      return this.protocolError(from, sock, err);
    }
    if (f.waiting) return this.mailbox(from).touch();
    if (f.abort) {
      const code = f.abort.code in EXIT_CODES ? (f.abort.code as JclErrorCode) : 'peer_lost';
      this.mailbox(from).fail(new JclError(code, `${this.describe(from)} aborted: ${f.abort.message}`));
      return;
    }
    const box = this.mailbox(from);
    this.order
      .get(from)!
      .accept(
        stream,
        { opId: f.opId ?? 0, step: f.step ?? 0, chunk: f.chunk ?? 0, payload: payloadOf(f) },
        (frame) => box.push(frame),
      );
  }

  private protocolError(from: number, sock: net.Socket, err: unknown): void {
    this.mailbox(from).fail(
      new JclError('internal', `${this.describe(from)} sent a malformed message: ${String(err)}`),
    );
    sock.destroy();
  }

  /** The record for sending to `peer`, waiting for `peer` to dial in if it has not yet. */
  private outboundTo(peer: number): Outbound {
    const existing = this.outbound.get(peer);
    if (existing !== undefined) return existing;
    const out: Outbound = {
      socks: Array.from({ length: this.streams }, () => null),
      attached: 0,
      sent: 0,
      ready: Promise.resolve(),
      connected: () => {},
      refused: () => {},
      pending: 0,
      lastProgressMs: Date.now(),
      failure: null,
      timer: undefined,
    };
    out.ready = new Promise<void>((resolve, reject) => {
      out.connected = resolve;
      out.refused = reject;
      out.timer = setTimeout(
        () => reject(this.lost(peer, `did not connect to receive within ${this.o.peerTimeoutMs} ms`)),
        this.o.peerTimeoutMs,
      );
    });
    out.ready.catch((err: JclError) => this.failOutbound(peer, err));
    this.outbound.set(peer, out);
    return out;
  }

  private attachOutbound(peer: number, stream: number, sock: net.Socket): void {
    const out = this.outboundTo(peer);
    out.socks[stream] = sock;
    out.lastProgressMs = Date.now();
    if (++out.attached < this.streams) return;
    clearTimeout(out.timer);
    out.connected();
  }

  private failOutbound(peer: number, err: JclError): void {
    const out = this.outbound.get(peer);
    if (out === undefined || out.failure !== null) return;
    out.failure = err;
    clearTimeout(out.timer);
    out.refused(err); // sends still waiting for the receiver to dial fail now
    if (!this.closing && out.pending > 0)
      this.o.log.warn({ peer, address: this.o.peers[peer], reason: err.message }, `lost rank ${peer}`);
    for (const sock of out.socks) sock?.destroy();
  }

  private checkProgress(): void {
    const now = Date.now();
    // Blocked on an upstream peer: tell our downstream we are alive and waiting (proto Frame.waiting).
    if (!this.closing && [...this.inbox.values()].some((b) => b.blocked)) {
      for (const out of this.outbound.values()) {
        if (out.failure !== null) continue;
        for (const sock of out.socks) sock?.write(WAITING_MESSAGE);
      }
    }
    for (const [peer, out] of this.outbound) {
      if (
        out.failure === null &&
        out.attached === this.streams &&
        out.pending > 0 &&
        now - out.lastProgressMs > this.o.peerTimeoutMs
      ) {
        this.failOutbound(
          peer,
          this.lost(peer, `accepted no data for ${this.o.peerTimeoutMs} ms (dead or hung)`),
        );
      }
    }
  }

  private mailbox(peer: number): Mailbox {
    let box = this.inbox.get(peer);
    if (box === undefined) {
      box = new Mailbox(this.describe(peer), this.o.peerTimeoutMs);
      this.inbox.set(peer, box);
    }
    return box;
  }

  private lost(peer: number, why: string): JclError {
    return peerLostError(this.o.peers, peer, why);
  }

  private describe(peer: number): string {
    return describePeer(this.o.peers, peer);
  }

  private checkPeer(peer: number): void {
    checkPeerRank(this.rank, this.worldSize, peer);
  }
}
