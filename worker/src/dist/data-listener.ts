/**
 * The listening side of the raw TCP data plane (tcp-transport.ts): plain TCP or TLS with client
 * certificates required. Started before rendezvous so its port can be advertised; connections that arrive
 * before the transport exists are held and handed over by `attach`.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { TlsMaterial } from './auth.ts';

/** What the listener hands connections to. */
export interface ConnectionSink {
  onConnection(sock: net.Socket): void;
}

/** The listening socket, started before rendezvous so its port can be advertised; holds early connections. */
export class DataListener {
  private held: net.Socket[] = [];
  private target: ConnectionSink | null = null;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {
    server.on(
      tls !== undefined && server instanceof tls.Server ? 'secureConnection' : 'connection',
      (s: net.Socket) => {
        if (this.target) this.target.onConnection(s);
        else this.held.push(s);
      },
    );
    server.on('tlsClientError', () => {}); // a failed handshake only concerns that connection
  }

  static async start(
    bindHost: string,
    port: number,
    material: TlsMaterial | undefined,
  ): Promise<DataListener> {
    const server = material
      ? tls.createServer({
          key: material.key,
          cert: material.cert,
          ca: material.ca,
          requestCert: true,
          rejectUnauthorized: true,
        })
      : net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new Error(`cannot listen on ${bindHost}:${port} (data plane)`, { cause: err })),
      );
      server.listen(port, bindHost, () => resolve());
    });
    return new DataListener(server, (server.address() as net.AddressInfo).port);
  }

  attach(t: ConnectionSink): void {
    this.target = t;
    for (const s of this.held.splice(0)) t.onConnection(s);
  }

  close(): void {
    this.server.close();
    for (const s of this.held.splice(0)) s.destroy();
  }
}
