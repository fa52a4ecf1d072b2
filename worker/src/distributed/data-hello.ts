/**
 * The sender's check of a receiver's DataHello on the raw TCP data plane (tcp-transport.ts): decoded,
 * token, session, stream index and count, rank, and (over TLS) that the certificate was issued for that
 * rank. Pure apart from the token comparison it is handed; a refusal is a RefusalError with its counted
 * reason (connection-guard.ts) and a phrase for the rate-limited log.
 */
import { RefusalError } from './connection-guard.ts';
import { messageType } from './wire.ts';

const HelloType = messageType('DataHello');

export interface DataHello {
  fromRank: number;
  sessionId: string;
  token: string;
  stream: number;
  streams: number;
}

export interface HelloContext {
  checkToken: (presented: string) => boolean;
  sessionId: string;
  /** This rank's rank, the world size and its streams per directed pair. */
  rank: number;
  worldSize: number;
  streams: number;
  /** Whether rank `r` already holds stream `stream` of its connection. */
  taken: (r: number, stream: number) => boolean;
  /** Why the connection's certificate is not rank `r`'s (TLS), or a falsy value when it is. */
  certificateProblem: (r: number) => string | null | undefined;
}

/** The receiver's rank and stream of an acceptable hello; throws RefusalError otherwise. */
export function acceptDataHello(m: Buffer, ctx: HelloContext): { rank: number; stream: number } {
  let hello: DataHello;
  try {
    hello = HelloType.toObject(HelloType.decode(m), { defaults: true }) as DataHello;
  } catch (err) {
    throw new RefusalError('bad_hello', 'malformed hello', String(err));
  }
  if (!ctx.checkToken(hello.token)) throw new RefusalError('wrong_token', 'wrong job token');
  if (hello.sessionId !== ctx.sessionId)
    throw new RefusalError(
      'bad_hello',
      'stale session',
      `session ${hello.sessionId} is not ${ctx.sessionId}`,
    );
  const streams = hello.streams || 1;
  if (streams !== ctx.streams)
    throw new RefusalError(
      'bad_hello',
      'stream count mismatch',
      `streams ${streams}, this rank uses ${ctx.streams}`,
    );
  const { fromRank: r, stream } = hello;
  if (stream >= streams)
    throw new RefusalError('bad_hello', 'bad stream', `stream ${stream} is not below ${streams}`);
  if (!Number.isInteger(r) || r < 0 || r >= ctx.worldSize || r === ctx.rank || ctx.taken(r, stream))
    throw new RefusalError(
      'bad_hello',
      'bad from_rank',
      `from_rank ${r} is not another rank without a connection on stream ${stream}`,
    );
  const identity = ctx.certificateProblem(r);
  if (identity)
    throw new RefusalError(
      'wrong_rank_certificate',
      'certificate not issued for the rank in the hello',
      identity,
    );
  return { rank: r, stream };
}

/** Encodes a DataHello (the receiver's side, and tests). */
export function encodeDataHello(hello: Partial<DataHello>): Uint8Array {
  return HelloType.encode(hello).finish();
}
