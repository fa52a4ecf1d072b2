/**
 * Opening the receiving side of a raw TCP data-plane connection (tcp-transport.ts): plain TCP reading into
 * one fixed buffer (`onread`: no fresh 64 KiB buffer per read, hence no GC churn per received MB), or TLS
 * with client certificates whose peer is verified against the name it must hold (auth.ts expectedPeerName). `onBytes` gets every chunk
 * read; on plain TCP it is a view of the fixed buffer, valid only during the call.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { TlsMaterial } from './auth.ts';

/** Bytes one read may deliver on a plain-TCP connection (the fixed `onread` buffer). */
const READ_BUFFER_BYTES = 1 << 20;

export interface DialedSocket {
  sock: net.Socket;
  /** The event after which the connection can carry the hello: 'connect' or 'secureConnect'. */
  readyEvent: 'connect' | 'secureConnect';
}

/**
 * Connect to `address` ("host:port" or "[v6]:port"), delivering what is read to `onBytes`; over TLS the
 * peer's certificate must hold `serverName` when given (else the address).
 */
export function dialDataSocket(
  address: string,
  material: TlsMaterial | undefined,
  serverName: string | undefined,
  onBytes: (bytes: Buffer) => void,
): DialedSocket {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(address);
  const host = m?.[1] ?? '';
  const port = Number(m?.[2]);
  if (material) {
    const opts: tls.ConnectionOptions = {
      host,
      port,
      key: material.key,
      cert: material.cert,
      ca: material.ca,
    };
    const name = serverName;
    if (name) {
      // Peers are dialled by address; verify their certificate against the configured name instead.
      if (!net.isIP(name)) opts.servername = name;
      opts.checkServerIdentity = (_host, cert) => tls.checkServerIdentity(name, cert);
    }
    const sock = tls.connect(opts);
    sock.on('data', onBytes);
    return { sock, readyEvent: 'secureConnect' };
  }
  const sock = net.connect({
    host,
    port,
    onread: {
      buffer: Buffer.allocUnsafeSlow(READ_BUFFER_BYTES),
      callback: (n: number, buf: Uint8Array): boolean => {
        onBytes(Buffer.from(buf.buffer, buf.byteOffset, n));
        return true; // keep reading (false would pause the socket)
      },
    },
  });
  return { sock, readyEvent: 'connect' };
}
