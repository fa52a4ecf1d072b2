/**
 * Opening the receiving side of a raw TCP data-plane connection (tcp-transport.ts): plain TCP reading into
 * one fixed buffer (`onread`: no fresh 64 KiB buffer per read, hence no GC churn per received MB), or TLS
 * with client certificates whose peer is verified against the name it must hold (auth.ts expectedPeerName). `onBytes` gets every chunk
 * read; on plain TCP it is a view of the fixed buffer, valid only during the call. With a `DirectReader`,
 * plain TCP instead reads each time into the memory the reader names (a message body: no copy at all).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { TlsMaterial } from './auth.ts';

/** Bytes one read may deliver on a plain-TCP connection (the fixed `onread` buffer). */
const READ_BUFFER_BYTES = 1 << 20;

/** Plain TCP reading into caller-chosen memory: `next()` is where the next read lands, `got(n)` its size. */
export interface DirectReader {
  next(): Buffer;
  got(n: number): void;
}

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
  direct?: DirectReader,
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
      ALPNProtocols: ['h2'],
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
  const fixed = direct ? null : Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  const into = direct ?? { next: () => fixed!, got: (n: number) => onBytes(fixed!.subarray(0, n)) };
  const sock = net.connect({
    host,
    port,
    onread: {
      buffer: () => into.next(),
      callback: (n: number): boolean => {
        into.got(n);
        return true; // keep reading (false would pause the socket)
      },
    },
  });
  return { sock, readyEvent: 'connect' };
}

/** Code of the error probeTls reports when the server hangs up right after a handshake that succeeded. */
export const CERT_REFUSED_BY_PEER = 'ERR_JCL_TLS_CERT_REFUSED_BY_PEER';

/**
 * Open a TLS connection to `address` only to learn why TLS fails there: the handshake error, or a server
 * that closes right after the handshake without sending a byte (a Node TLS server rejecting a client
 * certificate under TLS 1.3 just closes: the client has already seen the handshake succeed), reported
 * as CERT_REFUSED_BY_PEER; undefined when nothing failed within `waitMs`. grpc-js reports such failures
 * only as "Failed to connect", and a raw socket only as a close.
 */
export function probeTls(
  address: string,
  material: TlsMaterial,
  serverName: string | undefined,
  waitMs: number,
): Promise<Error | undefined> {
  return new Promise((resolve) => {
    let secured = false;
    let received = false;
    const { sock, readyEvent } = dialDataSocket(address, material, serverName, () => (received = true));
    const done = (err: Error | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(err);
    };
    const timer = setTimeout(() => done(undefined), waitMs);
    sock.once(readyEvent, () => {
      secured = true;
      clearTimeout(timer);
      setTimeout(() => done(undefined), Math.min(500, waitMs)).unref();
    });
    sock.once('error', (err) => done(err));
    sock.once('close', () => {
      if (!secured || received) return done(undefined);
      const err = Object.assign(
        new Error(
          'the peer closed the connection right after the TLS handshake (it refused this certificate)',
        ),
        { code: CERT_REFUSED_BY_PEER },
      );
      done(err);
    });
  });
}

/** CERT_REFUSED_BY_PEER only if two probes in a row see it (a peer restarting mid-handshake is not). */
export async function confirmTlsRefusal(
  address: string,
  material: TlsMaterial,
  serverName: string | undefined,
): Promise<Error | undefined> {
  const first = await probeTls(address, material, serverName, 2_000);
  if ((first as { code?: string } | undefined)?.code !== CERT_REFUSED_BY_PEER) return first;
  return probeTls(address, material, serverName, 2_000);
}
