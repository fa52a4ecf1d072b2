/**
 * The gRPC implementation of Transport. Each receiving rank opens one server-streaming `Subscribe` call to
 * every rank it receives from (for the ring: its predecessor) and the sender writes frames on that stream;
 * see worker.proto for why data flows server -> client (the client's HTTP/2 window is configurable).
 *
 * Fault model: a broken connection fails the affected sends/receives at once; a silent peer fails a receive
 * after `peerTimeoutMs`, an unresponsive one fails a send after the same bound (progress watchdog), and HTTP/2
 * keepalive pings detect a dead host in between. Errors are JclError('peer_lost') naming rank and address.
 */
import * as grpc from '@grpc/grpc-js';
import { EXIT_CODES, JclError, type JclErrorCode } from '../util/errors.ts';
import { checkPeerRank, describePeer, peerLostError } from './peer-names.ts';
import {
  createAuthMetadata,
  createChannelCredentials,
  rankCertificateProblem,
  tlsChannelOptions,
  unauthenticated,
  type CallAuthenticator,
  type TlsMaterial,
} from './auth.ts';
import type { DistLogger } from './log.ts';
import { Mailbox } from './mailbox.ts';
import { tlsMisconfigured } from './tls-errors.ts';
import type { Frame, Transport } from './transport.ts';
import {
  collectiveService,
  frameWireBytes,
  MAX_CONTROL_MESSAGE_BYTES,
  type SubscribeRequest,
  type WireFrame,
} from './wire.ts';

export interface GrpcTransportOptions {
  rank: number;
  /** host:port of every rank, indexed by rank. */
  peers: readonly string[];
  token: string;
  sessionId: string;
  tls?: TlsMaterial;
  /** Bound on how long a peer may stay silent or stop accepting data. */
  peerTimeoutMs: number;
  /** Largest frame payload; peers must agree (it sets the receive message limit). */
  chunkBytes: number;
  /** HTTP/2 stream and connection receive window; >= a few chunks so the sender never stalls on a round-trip. */
  windowBytes: number;
  /** Ranks to subscribe to at once rather than on first receive. */
  subscribeTo?: readonly number[];
  log: DistLogger;
}

/** Server options for a worker's gRPC server, consistent with the transport's channel options. */
export function workerServerOptions(o: { chunkBytes: number; peerTimeoutMs: number }): grpc.ServerOptions {
  return {
    // Servers only receive control messages; frames flow on response streams.
    'grpc.max_receive_message_length': MAX_CONTROL_MESSAGE_BYTES,
    'grpc.max_send_message_length': frameWireBytes(o.chunkBytes),
    ...keepaliveOptions(o.peerTimeoutMs),
  };
}

/** HTTP/2 keepalive that finds a dead or frozen peer within `peerTimeoutMs`. */
export function keepaliveOptions(peerTimeoutMs: number): grpc.ChannelOptions {
  // Ping after a third of the bound, give the answer the other two thirds: a dead host is still found
  // within the bound, and a peer whose event loop is busy in a long synchronous TensorFlow.js step
  // (it answers pings only between kernels) has 2/3 of the bound, not 1/3, before it is dropped.
  const third = Math.max(1_000, Math.floor(peerTimeoutMs / 3));
  return {
    'grpc.keepalive_time_ms': third,
    'grpc.keepalive_timeout_ms': 2 * third,
    'grpc.keepalive_permit_without_calls': 1,
  };
}

interface Outbound {
  call: grpc.ServerWritableStream<SubscribeRequest, WireFrame> | null;
  /** Sends issued before the peer subscribed. */
  waiting: Array<() => void>;
  pending: number;
  lastProgressMs: number;
  failure: JclError | null;
}

export class GrpcTransport implements Transport {
  readonly rank: number;
  readonly worldSize: number;
  private readonly inbox = new Map<number, Mailbox>();
  private readonly calls = new Map<number, grpc.ClientReadableStream<WireFrame>>();
  private readonly clients = new Map<number, grpc.Client>();
  private readonly outbound: Outbound[];
  private readonly watchdog: NodeJS.Timeout;
  private closing = false;

  constructor(private readonly o: GrpcTransportOptions) {
    this.rank = o.rank;
    this.worldSize = o.peers.length;
    this.outbound = o.peers.map(() => ({
      call: null,
      waiting: [],
      pending: 0,
      lastProgressMs: Date.now(),
      failure: null,
    }));
    this.watchdog = setInterval(() => this.checkProgress(), Math.max(100, Math.floor(o.peerTimeoutMs / 4)));
    this.watchdog.unref();
    for (const peer of o.subscribeTo ?? []) this.mailbox(peer);
  }

  /**
   * Add the Collective service to `server` before rendezvous, so a peer that learns the peer table first
   * cannot reach a server without it: calls arriving before `target()` returns a transport are held.
   */
  static addService(
    server: grpc.Server,
    chunkBytes: number,
    authenticate: CallAuthenticator,
    target: () => GrpcTransport | null,
  ): () => void {
    const early: grpc.ServerWritableStream<SubscribeRequest, WireFrame>[] = [];
    server.addService(collectiveService(frameWireBytes(chunkBytes)), {
      subscribe: (call: grpc.ServerWritableStream<SubscribeRequest, WireFrame>) => {
        // Authenticate before anything is held: a wrong token is refused at once, during rendezvous too.
        if (!authenticate(call, 'collective Subscribe')) {
          call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: unauthenticated().details });
          return;
        }
        const t = target();
        if (t) t.onSubscribe(call);
        else early.push(call);
      },
    });
    // Release the held calls once the transport exists.
    return () => {
      const t = target();
      if (t) for (const call of early.splice(0)) t.onSubscribe(call);
    };
  }

  /** Serve one authenticated Subscribe call: validate, then frames for that rank go to this stream. */
  onSubscribe(call: grpc.ServerWritableStream<SubscribeRequest, WireFrame>): void {
    const reject = (code: grpc.status, details: string): void => {
      call.emit('error', { code, details });
    };
    const { fromRank, sessionId } = call.request;
    if (sessionId !== this.o.sessionId)
      return reject(
        grpc.status.FAILED_PRECONDITION,
        `session ${sessionId} is not the current session ${this.o.sessionId}`,
      );
    if (!Number.isInteger(fromRank) || fromRank < 0 || fromRank >= this.worldSize || fromRank === this.rank) {
      return reject(
        grpc.status.INVALID_ARGUMENT,
        `from_rank must be another rank in [0, ${this.worldSize}), got ${fromRank}`,
      );
    }
    const identity = rankCertificateProblem(this.o.tls, call.getAuthContext().sslPeerCertificate, fromRank);
    if (identity) return reject(grpc.status.PERMISSION_DENIED, identity);
    const out = this.outbound[fromRank];
    if (out.call !== null || out.failure !== null)
      return reject(grpc.status.ALREADY_EXISTS, `rank ${fromRank} already subscribed`);
    out.call = call;
    out.lastProgressMs = Date.now();
    const onGone = (why: string) => {
      if (out.call === call) this.failOutbound(fromRank, why);
    };
    call.on('cancelled', () => onGone('subscription cancelled (peer closed or died)'));
    call.on('error', (err: Error) => onGone(err.message));
    for (const wake of out.waiting.splice(0)) wake();
  }

  send(peer: number, frame: Frame): Promise<void> {
    this.checkPeer(peer);
    const out = this.outbound[peer];
    if (out.failure !== null) return Promise.reject(out.failure);
    // The stall clock starts when something is owed, not at the last write of an earlier operation.
    if (out.pending++ === 0) out.lastProgressMs = Date.now();
    return new Promise<void>((resolve, reject) => {
      const write = () => {
        if (out.failure !== null || out.call === null)
          return reject(out.failure ?? this.lost(peer, 'not subscribed'));
        out.call.write(frame satisfies WireFrame, (err?: Error | null) => {
          out.pending--;
          out.lastProgressMs = Date.now();
          if (err) reject(this.lost(peer, `write failed: ${err.message}`));
          else resolve();
        });
      };
      if (out.call !== null) write();
      else out.waiting.push(write);
    });
  }

  recv(peer: number): Promise<Frame> {
    this.checkPeer(peer);
    return this.mailbox(peer).take();
  }

  abort(reason: JclError): void {
    for (const out of this.outbound) {
      if (out.call !== null && out.failure === null) {
        out.call.write({
          payload: new Uint8Array(0),
          opId: 0,
          step: 0,
          chunk: 0,
          abort: { code: reason.code, message: reason.message },
        });
        out.call.end();
      }
    }
    for (const box of this.inbox.values()) box.fail(reason);
    void this.close();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.watchdog);
    for (const out of this.outbound) {
      out.failure ??= new JclError('internal', `rank ${this.rank}: transport closed`);
      for (const wake of out.waiting.splice(0)) wake();
      if (out.call !== null) out.call.end();
    }
    for (const call of this.calls.values()) call.cancel();
    for (const client of this.clients.values()) client.close();
  }

  private mailbox(peer: number): Mailbox {
    let box = this.inbox.get(peer);
    if (box === undefined) {
      box = new Mailbox(this.describe(peer), this.o.peerTimeoutMs);
      this.inbox.set(peer, box);
      this.subscribe(peer, box);
    }
    return box;
  }

  private subscribe(peer: number, box: Mailbox): void {
    const client = new grpc.Client(this.o.peers[peer], createChannelCredentials(this.o.tls), {
      'grpc.max_receive_message_length': frameWireBytes(this.o.chunkBytes),
      'grpc.max_send_message_length': MAX_CONTROL_MESSAGE_BYTES,
      'grpc-node.flow_control_window': this.o.windowBytes,
      // A stream must never be replayed: a retry would duplicate frames.
      'grpc.enable_retries': 0,
      'grpc.use_local_subchannel_pool': 1,
      ...keepaliveOptions(this.o.peerTimeoutMs),
      ...tlsChannelOptions(this.o.tls, peer),
    });
    this.clients.set(peer, client);
    const { path, requestSerialize, responseDeserialize } = collectiveService(
      frameWireBytes(this.o.chunkBytes),
    ).subscribe;
    const call = client.makeServerStreamRequest<SubscribeRequest, WireFrame>(
      path,
      requestSerialize,
      responseDeserialize,
      { fromRank: this.rank, sessionId: this.o.sessionId },
      createAuthMetadata(this.o.token),
      // Long-lived: liveness comes from keepalive and the per-receive deadline, not a call deadline. Peers
      // started their servers before joining, so the server is up once the peer table is known.
      { deadline: Infinity },
    );
    this.calls.set(peer, call);
    call.on('data', (f: WireFrame) => {
      if (f.waiting) {
        box.touch();
      } else if (f.abort) {
        // The sender's code travels so survivors fail for the same reason (a permanent invalid_config stays
        // permanent); anything unknown from the wire counts as a lost peer.
        const code = f.abort.code in EXIT_CODES ? (f.abort.code as JclErrorCode) : 'peer_lost';
        box.fail(new JclError(code, `rank ${peer} (${this.o.peers[peer]}) aborted: ${f.abort.message}`));
      } else {
        box.push(f);
      }
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (this.closing) return;
      const why = `stream failed: ${grpc.status[err.code] ?? err.code} ${err.details}`;
      // A peer of the job that refuses our token, or a certificate that does not verify, fails the same
      // way on every restart: permanent (exit 77) rather than a lost peer.
      if (err.code === grpc.status.UNAUTHENTICATED || err.code === grpc.status.PERMISSION_DENIED)
        box.fail(new JclError('unauthenticated', `${this.describe(peer)} refused this rank: ${why}`));
      else box.fail(tlsMisconfigured(this.describe(peer), err) ?? this.lost(peer, why));
    });
    call.on('end', () => box.fail(this.lost(peer, 'stream ended')));
  }

  private checkProgress(): void {
    const now = Date.now();
    // Blocked on an upstream peer: tell our downstream we are alive and waiting (proto Frame.waiting).
    const blocked = [...this.inbox.values()].some((b) => b.blocked);
    this.outbound.forEach((out, peer) => {
      if (blocked && out.call !== null && out.failure === null && !this.closing) {
        out.call.write({ payload: new Uint8Array(0), opId: 0, step: 0, chunk: 0, waiting: true });
      }
      const stalled = out.pending > 0 && now - out.lastProgressMs > this.o.peerTimeoutMs;
      if (out.failure === null && stalled) {
        const why = out.call === null ? 'never subscribed' : 'accepted no data';
        this.failOutbound(peer, `${why} for ${this.o.peerTimeoutMs} ms (dead or hung)`);
      }
    });
  }

  private failOutbound(peer: number, why: string): void {
    const out = this.outbound[peer];
    if (out.failure !== null) return;
    out.failure = this.lost(peer, why);
    out.call = null;
    const owed = out.pending > 0;
    for (const wake of out.waiting.splice(0)) wake();
    // A peer leaving while nothing is owed to it is a normal shutdown; failing sends are logged by the caller.
    if (!this.closing && owed) {
      this.o.log.warn({ peer, address: this.o.peers[peer], reason: why }, `lost rank ${peer}`);
    }
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
