/**
 * The per-job shared secret and optional TLS: metadata for outgoing calls, a constant-time check for
 * incoming ones, and grpc-js credentials. The token is compared as SHA-256 digests with timingSafeEqual so
 * neither its content nor its length leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type net from 'node:net';
import * as nodeTls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { RefusalLog } from './refusal-log.ts';

const AUTH_KEY = 'authorization';
const BEARER = 'Bearer ';

/** PEM contents for mutual TLS between workers (and the operator's status calls). */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
  /** Name the peers' certificate is issued for, when workers are dialled by IP. */
  serverName?: string;
  /**
   * Per-rank name with a `{rank}` placeholder (JCL_TLS_PEER_NAME): rank r's certificate must hold it with
   * r filled in, so a certificate of the job CA is accepted only as the rank it was issued for.
   */
  peerName?: string;
}

/** The name rank `rank`'s certificate must hold, or undefined when any name the CA signed will do. */
export function expectedPeerName(tls: TlsMaterial | undefined, rank: number): string | undefined {
  if (tls?.peerName) return tls.peerName.replaceAll('{rank}', String(rank));
  return tls?.serverName;
}

/**
 * Why the client certificate `cert` may not speak for `rank`, or undefined when it may (no
 * JCL_TLS_PEER_NAME, no TLS, or the certificate names that rank).
 */
export function rankCertificateProblem(
  tls: TlsMaterial | undefined,
  cert: nodeTls.PeerCertificate | undefined,
  rank: number,
): string | undefined {
  if (!tls?.peerName || cert === undefined) return undefined;
  const name = expectedPeerName(tls, rank) as string;
  const err = nodeTls.checkServerIdentity(name, cert);
  return err ? `certificate is not issued for rank ${rank} (${name}): ${err.message}` : undefined;
}

/** The client certificate of a TLS socket (undefined on plain TCP). */
export function peerCertificateOf(sock: net.Socket): nodeTls.PeerCertificate | undefined {
  return sock instanceof nodeTls.TLSSocket ? sock.getPeerCertificate() : undefined;
}

/** Metadata carrying the token, for every outgoing call. */
export function createAuthMetadata(token: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(AUTH_KEY, BEARER + token);
  return md;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** A checker bound to the expected token: true only for exactly that (non-empty) token. */
export function createSecretChecker(token: string): (presented: string) => boolean {
  if (token.length === 0) throw new RangeError('token must not be empty');
  const expected = digest(token);
  // Always compare, even for an empty token, so a missing token costs the same as a wrong one.
  return (presented) => timingSafeEqual(digest(presented), expected) && presented.length > 0;
}

/** A checker bound to the expected token: true only when the call's metadata carries exactly that token. */
export function createTokenChecker(token: string): (md: grpc.Metadata) => boolean {
  const check = createSecretChecker(token);
  return (md) => {
    const values = md.get(AUTH_KEY);
    const got = values.length === 1 && typeof values[0] === 'string' ? values[0] : '';
    return check(got.startsWith(BEARER) ? got.slice(BEARER.length) : '');
  };
}

/** Checks an incoming call's token, noting each refusal (rate-limited log) under `what` (the method). */
export type CallAuthenticator = (
  call: { metadata: grpc.Metadata; getPeer(): string },
  what: string,
) => boolean;

/** A CallAuthenticator for `token` whose refusals go to `refusals`. */
export function createCallAuthenticator(token: string, refusals: RefusalLog): CallAuthenticator {
  const check = createTokenChecker(token);
  return (call, what) => {
    if (check(call.metadata)) return true;
    refusals.note(what, 'wrong_token', call.getPeer());
    return false;
  };
}

/** The status object to fail a call with when the token check fails. */
export function unauthenticated(): Partial<grpc.StatusObject> {
  return { code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong job token' };
}

export function createServerCredentials(tls: TlsMaterial | undefined): grpc.ServerCredentials {
  if (tls === undefined) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(tls.ca, [{ private_key: tls.key, cert_chain: tls.cert }], true);
}

export function createChannelCredentials(tls: TlsMaterial | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(tls.ca, tls.key, tls.cert);
}

/** Channel options TLS needs on top of the transport's own, for a channel to `rank` when given. */
export function tlsChannelOptions(tls: TlsMaterial | undefined, rank?: number): grpc.ChannelOptions {
  const name = rank === undefined ? tls?.serverName : expectedPeerName(tls, rank);
  return name ? { 'grpc.ssl_target_name_override': name } : {};
}
