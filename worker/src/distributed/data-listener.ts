/**
 * The listening side of the raw TCP data plane (tcp-transport.ts): plain TCP or TLS with client
 * certificates required. Started before rendezvous so its port can be advertised; connections that arrive
 * before the transport exists are held and handed over by `attach`. Every connection is guarded from the
 * moment it is accepted (connection-guard.ts): a hello deadline, a cap on those waiting, refusals logged
 * at a bounded rate, and `close` destroys whatever has not been handed to the transport.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { TlsMaterial } from './auth.ts';
import { ConnectionGuard, HELLO_TIMEOUT_MS, MAX_UNAUTHENTICATED } from './connection-guard.ts';
import { silentLogger } from './log.ts';
import { RefusalLog } from './refusal-log.ts';

/** What the listener hands connections to. */
export interface ConnectionSink {
  /** Serve `sock`; tell `guard` when it is authenticated or refused. */
  onConnection(sock: net.Socket, guard: ConnectionGuard): void;
}

export interface DataListenerOptions {
  /** Deadline for a connection's TLS handshake plus hello (default HELLO_TIMEOUT_MS). */
  helloTimeoutMs?: number;
  maxUnauthenticated?: number;
  refusals?: RefusalLog;
}

/** The listening socket, started before rendezvous so its port can be advertised; holds early connections. */
export class DataListener {
  private readonly held = new Set<net.Socket>();
  private target: ConnectionSink | null = null;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    readonly guard: ConnectionGuard,
    refusals: RefusalLog,
  ) {
    server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', (s: net.Socket) => {
      if (!guard.admit(s)) return;
      if (this.target) return this.target.onConnection(s, guard);
      this.held.add(s);
      s.once('close', () => this.held.delete(s));
    });
    // A failed handshake only concerns that connection (the dialling side reports its own failure).
    server.on('tlsClientError', (err: NodeJS.ErrnoException, s: tls.TLSSocket) => {
      refusals.note(
        'data',
        'tls_handshake',
        s.remoteAddress,
        `TLS handshake failed: ${err.code ?? err.message}`,
      );
    });
  }

  static async start(
    bindHost: string,
    port: number,
    material: TlsMaterial | undefined,
    o: DataListenerOptions = {},
  ): Promise<DataListener> {
    const helloTimeoutMs = o.helloTimeoutMs ?? HELLO_TIMEOUT_MS;
    const maxUnauthenticated = o.maxUnauthenticated ?? MAX_UNAUTHENTICATED;
    const server = material
      ? tls.createServer({
          key: material.key,
          cert: material.cert,
          ca: material.ca,
          requestCert: true,
          rejectUnauthorized: true,
          handshakeTimeout: helloTimeoutMs,
        })
      : net.createServer();
    // Connections still in their TLS handshake are not guarded yet: bound them in number as well.
    if (material) server.maxConnections = 2 * maxUnauthenticated;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new Error(`cannot listen on ${bindHost}:${port} (data plane)`, { cause: err })),
      );
      server.listen(port, bindHost, () => resolve());
    });
    const refusals = o.refusals ?? new RefusalLog(silentLogger);
    const guard = new ConnectionGuard({ helloTimeoutMs, maxUnauthenticated, refusals });
    return new DataListener(server, (server.address() as net.AddressInfo).port, guard, refusals);
  }

  attach(t: ConnectionSink): void {
    this.target = t;
    for (const s of [...this.held]) t.onConnection(s, this.guard);
    this.held.clear();
  }

  /** Stop listening and destroy every connection not handed over as authenticated. */
  close(): void {
    this.server.close();
    this.held.clear();
    this.guard.destroyAll();
  }
}
