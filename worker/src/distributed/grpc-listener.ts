/**
 * Serving a grpc-js server from a listening socket we own, so every connection is ours to end. grpc-js's
 * own `forceShutdown` closes each HTTP/2 session gracefully before destroying it, which leaves the socket
 * waiting for the other side's FIN: a client that connects and never closes (an outsider, or a frozen
 * peer) kept a worker process alive after its work was done. Here each accepted socket is tracked, the
 * number open at once is capped, and `close` destroys whatever is still open once grpc-js has had its
 * grace period to finish calls in flight.
 */
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { RefusalLog } from './refusal-log.ts';

export interface GrpcListenerOptions {
  /** Connections open at once; further ones are closed on arrival (and counted as refusals). */
  maxConnections: number;
  refusals?: RefusalLog;
  /** Plane name for the refusal log. */
  plane?: string;
}

export class GrpcListener {
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: grpc.Server,
    private readonly listening: net.Server,
    readonly port: number,
  ) {}

  /** Listen on `host:port` (0 picks a free port) and hand each connection to `server`. */
  static async start(
    server: grpc.Server,
    host: string,
    port: number,
    creds: grpc.ServerCredentials,
    o: GrpcListenerOptions,
  ): Promise<GrpcListener> {
    const injector = server.createConnectionInjector(creds);
    const listening = net.createServer();
    await new Promise<void>((resolve, reject) => {
      listening.once('error', (err) => reject(new Error(`cannot listen on ${host}:${port}`, { cause: err })));
      listening.listen(port, host, () => resolve());
    });
    const self = new GrpcListener(server, listening, (listening.address() as net.AddressInfo).port);
    listening.on('connection', (sock: net.Socket) => {
      if (self.sockets.size >= o.maxConnections) {
        o.refusals?.note(
          o.plane ?? 'grpc',
          'connection_limit',
          sock.remoteAddress,
          `more than ${o.maxConnections} connections`,
        );
        sock.destroy();
        return;
      }
      self.sockets.add(sock);
      sock.once('close', () => self.sockets.delete(sock));
      injector.injectConnection(sock);
    });
    return self;
  }

  /** Connections open right now. */
  get connections(): number {
    return this.sockets.size;
  }

  /**
   * Stop accepting, let calls in flight finish for up to `graceMs`, then end every connection still
   * open, whoever holds the other side.
   */
  async close(graceMs: number): Promise<void> {
    this.listening.close();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
  }
}
