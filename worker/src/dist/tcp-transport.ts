/**
 * The raw TCP data plane (JCL_DATA_PLANE=tcp): the same Frame messages as the gRPC transport, with gRPC's
 * message framing but without HTTP/2 (proto/jcl/v1/worker.proto, DataHello). Rendezvous and status stay on
 * gRPC. It exists because HTTP/2 in Node costs ~2.5x the CPU per byte (docs/BENCHMARKS.md, "Distributed").
 *
 * The sender connects to the receiver, presents the job token in a DataHello (over TLS when configured,
 * client certificates required) and waits for a one-byte verdict; payloads are written straight from the
 * caller's memory (header and payload in one writev) and arrive 4-byte aligned (message-reader.ts).
 * Fault model as in grpc-transport.ts: a closed connection fails at once, silence or a stalled send after
 * `peerTimeoutMs`, TCP keepalive in between; errors are JclError('peer_lost') naming rank and address.
 */
import net from 'node:net';
import tls from 'node:tls';
import { EXIT_CODES, JclError, type JclErrorCode } from '../util/errors.ts';
import { checkPeerRank, describePeer, peerLostError } from './peer-names.ts';
import { createSecretChecker, type TlsMaterial } from './auth.ts';
import { encodeFramedDataHeader } from './frame-codec.ts';
import type { DistLogger } from './log.ts';
import { Mailbox } from './mailbox.ts';
import { MessageReader, messagePrefix } from './message-reader.ts';
import type { Frame, Transport } from './transport.ts';
import { frameWireBytes, MAX_CONTROL_MESSAGE_BYTES, messageType, type WireFrame } from './wire.ts';

const HelloType = messageType('DataHello');
const FrameType = messageType('Frame');
const ACCEPTED = 1;
const WAITING_MESSAGE = ((): Buffer => {
  const body = FrameType.encode({ waiting: true }).finish();
  return Buffer.concat([messagePrefix(body.length), body]);
})();
/** Recycled receive buffers kept per transport: a few chunks in flight per peer. */
const POOL_BUFFERS = 8;
const REFUSED = 0;

export interface TcpTransportOptions {
  rank: number;
  /** host:data_port of every rank, indexed by rank. */
  peers: readonly string[];
  token: string;
  sessionId: string;
  tls?: TlsMaterial;
  peerTimeoutMs: number;
  chunkBytes: number;
  /** Ranks to connect to at once rather than on first send (the ring successor: an abort must reach it). */
  connectTo?: readonly number[];
  log: DistLogger;
}

interface Outbound {
  sock: net.Socket;
  ready: Promise<void>;
  pending: number;
  lastProgressMs: number;
  failure: JclError | null;
  handshaken: boolean;
}

export class TcpTransport implements Transport {
  readonly rank: number;
  readonly worldSize: number;
  private readonly inbox = new Map<number, Mailbox>();
  /** Message buffers handed out by the last recv from each peer, and ones free for reuse. */
  private readonly lent = new Map<number, Buffer>();
  private readonly pool: Buffer[] = [];
  private readonly inbound = new Map<number, net.Socket>();
  private readonly outbound = new Map<number, Outbound>();
  private readonly checkToken: (presented: string) => boolean;
  private readonly watchdog: NodeJS.Timeout;
  private closing = false;

  constructor(private readonly o: TcpTransportOptions) {
    this.rank = o.rank;
    this.worldSize = o.peers.length;
    this.checkToken = createSecretChecker(o.token);
    this.watchdog = setInterval(() => this.checkProgress(), Math.max(100, Math.floor(o.peerTimeoutMs / 4)));
    this.watchdog.unref();
    for (const peer of o.connectTo ?? []) this.outboundTo(peer);
  }

  /** Serve one inbound connection: handshake, then frames into the sender's mailbox. */
  onConnection(sock: net.Socket): void {
    sock.setNoDelay(true);
    sock.setKeepAlive(true, Math.max(1_000, Math.floor(this.o.peerTimeoutMs / 3)));
    const reader = new MessageReader(MAX_CONTROL_MESSAGE_BYTES, (bytes) => this.allocate(bytes));
    let from = -1;
    const helloTimer = setTimeout(() => sock.destroy(), this.o.peerTimeoutMs);
    const refuse = (why: string) => {
      clearTimeout(helloTimer);
      this.o.log.warn({ remote: sock.remoteAddress, reason: why }, 'data connection refused');
      sock.end(Buffer.from([REFUSED]));
      sock.removeAllListeners('data');
    };
    const onMessage = (m: Buffer): void => {
      if (from >= 0) return this.onFrame(from, sock, m);
      let hello: { fromRank: number; sessionId: string; token: string };
      try {
        hello = HelloType.toObject(HelloType.decode(m), { defaults: true }) as typeof hello;
      } catch (err) {
        throw new RangeError(`malformed hello: ${String(err)}`, { cause: err });
      }
      if (!this.checkToken(hello.token)) throw new RangeError('wrong job token');
      if (hello.sessionId !== this.o.sessionId)
        throw new RangeError(`session ${hello.sessionId} is not ${this.o.sessionId}`);
      const r = hello.fromRank;
      if (!Number.isInteger(r) || r < 0 || r >= this.worldSize || r === this.rank || this.inbound.has(r)) {
        throw new RangeError(`from_rank ${r} is not another rank without a connection`);
      }
      clearTimeout(helloTimer);
      from = r;
      this.inbound.set(r, sock);
      reader.maxBytes = frameWireBytes(this.o.chunkBytes);
      sock.write(Buffer.from([ACCEPTED]));
    };
    sock.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, onMessage);
      } catch (err) {
        if (from < 0) refuse(err instanceof Error ? err.message : String(err));
        else this.protocolError(from, sock, err);
      }
    });
    sock.on('error', () => {}); // reported by 'close'
    sock.on('close', () => {
      clearTimeout(helloTimer);
      if (from >= 0 && !this.closing) this.mailbox(from).fail(this.lost(from, 'connection closed'));
    });
  }

  send(peer: number, frame: Frame): Promise<void> {
    this.checkPeer(peer);
    const out = this.outboundTo(peer);
    if (out.failure !== null) return Promise.reject(out.failure);
    if (out.pending++ === 0) out.lastProgressMs = Date.now();
    // Sends chain on `ready` in call order, so frames keep their order on the connection.
    return out.ready.then(
      () =>
        new Promise<void>((resolve, reject) => {
          if (out.failure !== null) return reject(out.failure);
          const p = frame.payload;
          out.sock.cork();
          out.sock.write(encodeFramedDataHeader(frame));
          out.sock.write(Buffer.from(p.buffer, p.byteOffset, p.byteLength), (err) => {
            out.pending--;
            out.lastProgressMs = Date.now();
            if (err) reject(out.failure ?? this.lost(peer, `write failed: ${err.message}`));
            else resolve();
          });
          out.sock.uncork();
        }),
    );
  }

  recv(peer: number): Promise<Frame> {
    this.checkPeer(peer);
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
      if (out.failure === null) out.sock.end(Buffer.concat([messagePrefix(body.length), body]));
    }
    for (const box of this.inbox.values()) box.fail(reason);
    void this.close();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.watchdog);
    for (const out of this.outbound.values()) {
      out.failure ??= new JclError('internal', `rank ${this.rank}: transport closed`);
      out.sock.end(); // after the queued writes
    }
    for (const s of this.inbound.values()) s.destroy();
  }

  private onFrame(from: number, sock: net.Socket, body: Buffer): void {
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
    this.mailbox(from).push({
      opId: f.opId ?? 0,
      step: f.step ?? 0,
      chunk: f.chunk ?? 0,
      payload: f.payload ?? new Uint8Array(0),
    });
  }

  private protocolError(from: number, sock: net.Socket, err: unknown): void {
    this.mailbox(from).fail(
      new JclError('internal', `${this.describe(from)} sent a malformed message: ${String(err)}`),
    );
    sock.destroy();
  }

  private outboundTo(peer: number): Outbound {
    const existing = this.outbound.get(peer);
    if (existing !== undefined) return existing;
    const m = /^\[?(.*?)\]?:(\d+)$/.exec(this.o.peers[peer]);
    const host = m?.[1] ?? '';
    const port = Number(m?.[2]);
    const material = this.o.tls;
    let sock: net.Socket;
    if (material) {
      const opts: tls.ConnectionOptions = {
        host,
        port,
        key: material.key,
        cert: material.cert,
        ca: material.ca,
      };
      const name = material.serverName;
      if (name) {
        // Peers are dialled by address; verify their certificate against the configured name instead.
        if (!net.isIP(name)) opts.servername = name;
        opts.checkServerIdentity = (_host, cert) => tls.checkServerIdentity(name, cert);
      }
      sock = tls.connect(opts);
    } else {
      sock = net.connect({ host, port });
    }
    sock.setNoDelay(true);
    sock.setKeepAlive(true, Math.max(1_000, Math.floor(this.o.peerTimeoutMs / 3)));
    const out: Outbound = {
      sock,
      ready: Promise.resolve(),
      pending: 0,
      lastProgressMs: Date.now(),
      failure: null,
      handshaken: false,
    };
    out.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(this.lost(peer, `no handshake within ${this.o.peerTimeoutMs} ms`)),
        this.o.peerTimeoutMs,
      );
      sock.once(material ? 'secureConnect' : 'connect', () => {
        const hello = HelloType.encode({
          fromRank: this.rank,
          sessionId: this.o.sessionId,
          token: this.o.token,
        }).finish();
        sock.write(Buffer.concat([messagePrefix(hello.length), hello]));
      });
      sock.once('data', (b: Buffer) => {
        clearTimeout(timer);
        if (b[0] === ACCEPTED) {
          out.handshaken = true;
          resolve();
        } else
          reject(
            new JclError(
              'unauthenticated',
              `${this.describe(peer)} refused the data connection (token or session)`,
            ),
          );
      });
      sock.once('close', () => {
        clearTimeout(timer);
        reject(this.lost(peer, 'connection closed during the handshake'));
      });
    });
    out.ready.catch((err: JclError) => this.failOutbound(peer, err));
    sock.on('error', () => {}); // reported by 'close'
    sock.on('close', () => this.failOutbound(peer, this.lost(peer, 'connection closed')));
    this.outbound.set(peer, out);
    return out;
  }

  private failOutbound(peer: number, err: JclError): void {
    const out = this.outbound.get(peer);
    if (out === undefined || out.failure !== null) return;
    out.failure = err;
    if (!this.closing && out.pending > 0)
      this.o.log.warn({ peer, address: this.o.peers[peer], reason: err.message }, `lost rank ${peer}`);
    out.sock.destroy();
  }

  private checkProgress(): void {
    const now = Date.now();
    // Blocked on an upstream peer: tell our downstream we are alive and waiting (proto Frame.waiting).
    if (!this.closing && [...this.inbox.values()].some((b) => b.blocked)) {
      for (const out of this.outbound.values()) {
        if (out.handshaken && out.failure === null) out.sock.write(WAITING_MESSAGE);
      }
    }
    for (const [peer, out] of this.outbound) {
      if (out.failure === null && out.pending > 0 && now - out.lastProgressMs > this.o.peerTimeoutMs) {
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
