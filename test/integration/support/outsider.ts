/**
 * An outsider without the job token, for the attack tests (dist-outsiders.test.ts; the e2e that checks the
 * operator's refusal metric): data-plane hellos of its choosing, and sockets it never closes.
 */
import net from 'node:net';
import { messagePrefix } from '../../../worker/src/distributed/message-reader.ts';
import { messageType } from '../../../worker/src/distributed/wire.ts';

const Hello = messageType('DataHello');

/** A framed DataHello (raw TCP data plane) with `token`, as the first message of a connection. */
export function dataHello(token: string, fromRank = 0, sessionId = 's1'): Buffer {
  const body = Hello.encode({ fromRank, sessionId, token }).finish();
  return Buffer.concat([messagePrefix(body.length), body]);
}

/** A framed message that does not decode as a DataHello. */
export const GARBAGE_HELLO = Buffer.concat([messagePrefix(3), Buffer.from([0xff, 0xff, 0xff])]);

/**
 * An outsider's socket: it never closes its side (allowHalfOpen), so only the worker can end it. After the
 * worker's FIN it keeps writing a byte: a socket the worker merely half-closed accepts that, one it
 * destroyed answers with a reset, and only then does `closed` resolve (with the time).
 */
export interface HeldSocket {
  sock: net.Socket;
  /** What the worker sent (its verdict byte, if any). */
  got: Buffer[];
  closed: Promise<number>;
}

/** Connect to `host:port`, send `send` if given, and hold the socket open; the caller destroys it. */
export function holdOpen(port: number, send?: Buffer, host = '127.0.0.1'): Promise<HeldSocket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host, allowHalfOpen: true }, () => {
      if (send) sock.write(send);
      resolve({ sock, got, closed });
    });
    const got: Buffer[] = [];
    sock.on('data', (d: Buffer) => got.push(d));
    sock.on('error', (err) => reject(err)); // after connecting, rejecting again is a no-op
    let poke: NodeJS.Timeout | undefined;
    sock.on('end', () => {
      poke = setInterval(() => sock.write(Buffer.from([0])), 50);
    });
    const closed = new Promise<number>((r) =>
      sock.on('close', () => {
        clearInterval(poke);
        r(Date.now());
      }),
    );
  });
}
