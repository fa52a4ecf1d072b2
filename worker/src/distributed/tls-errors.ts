/**
 * Telling a TLS misconfiguration from a lost peer. A certificate that does not verify (wrong CA, a name
 * that does not match, expired, missing) or TLS on one side only fails the same way on every retry, so it
 * must be permanent (JclError 'unauthenticated', exit 77: the operator fails the job instead of restarting
 * the gang until its backoff limit) and must say what to fix. Pure: it reads error codes and messages
 * from Node's TLS layer, as they arrive directly (raw TCP data plane) or inside grpc-js details.
 */
import { JclError } from '../util/errors.ts';

interface TlsCause {
  /** OpenSSL / Node error codes, and the message fragments grpc-js passes on in its details. */
  match: readonly string[];
  cause: string;
}

const CAUSES: readonly TlsCause[] = [
  {
    match: ['ERR_TLS_CERT_ALTNAME_INVALID', "does not match certificate's altnames"],
    cause:
      'the peer certificate is not issued for the name it was checked against (its SAN must hold JCL_TLS_SERVER_NAME, or its rank name from JCL_TLS_PEER_NAME)',
  },
  {
    match: [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'CERT_SIGNATURE_FAILURE',
      'unable to verify the first certificate',
      'unable to get local issuer certificate',
      'self-signed certificate',
      'self signed certificate',
    ],
    cause: 'the peer certificate is not signed by the CA in JCL_TLS_CA',
  },
  {
    match: [
      'CERT_HAS_EXPIRED',
      'CERT_NOT_YET_VALID',
      'certificate has expired',
      'certificate is not yet valid',
    ],
    cause: 'a certificate is expired or not yet valid',
  },
  {
    match: [
      'ALERT_UNKNOWN_CA',
      'ALERT_BAD_CERTIFICATE',
      'ALERT_CERTIFICATE_REQUIRED',
      'ALERT_DECRYPT_ERROR',
      'alert unknown ca',
      'alert bad certificate',
      'alert certificate required',
      'PEER_DID_NOT_RETURN_A_CERTIFICATE',
      'ERR_JCL_TLS_CERT_REFUSED_BY_PEER', // data-dial.ts probeTls
    ],
    cause:
      "the peer refused this worker's certificate (not signed by the peer's JCL_TLS_CA, or not presented)",
  },
  {
    match: ['ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number', 'packet length too long'],
    cause:
      'one side speaks TLS and the other does not (set JCL_TLS_CERT, JCL_TLS_KEY, JCL_TLS_CA on every worker)',
  },
];

/** What is misconfigured, when `err` (an Error, a Node TLS error, or grpc-js details) is a TLS verification failure. */
export function tlsFailureCause(err: unknown): string | undefined {
  const e = err as { code?: unknown; message?: unknown; details?: unknown } | null;
  const text = [e?.code, e?.message, e?.details, typeof err === 'string' ? err : undefined]
    .filter((x): x is string => typeof x === 'string')
    .join(' ');
  if (text === '') return undefined;
  return CAUSES.find((c) => c.match.some((m) => text.includes(m)))?.cause;
}

/** The permanent error for a TLS failure with `who` ("rank 1 (10.0.0.7:29502)"), or undefined if `err` is none. */
export function tlsMisconfigured(who: string, err: unknown): JclError | undefined {
  const cause = tlsFailureCause(err);
  if (cause === undefined) return undefined;
  const detail = err instanceof Error ? err.message : String((err as { details?: unknown })?.details ?? err);
  return new JclError(
    'unauthenticated',
    `TLS with ${who} failed: ${cause} (${detail}); a restart cannot fix this, correct the certificates`,
    { cause: err },
  );
}
