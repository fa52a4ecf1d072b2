import { describe, expect, it } from 'vitest';
import { tlsFailureCause, tlsMisconfigured } from './tls-errors.ts';

const err = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('tlsFailureCause', () => {
  it.each([
    [
      err('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"),
      /not issued for the name/,
    ],
    [
      err('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'),
      /not signed by the CA in JCL_TLS_CA/,
    ],
    [
      err('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'),
      /not signed by the CA/,
    ],
    [err('CERT_HAS_EXPIRED', 'certificate has expired'), /expired or not yet valid/],
    [err('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'tlsv1 alert unknown ca'), /refused this worker's certificate/],
    [
      err('ERR_JCL_TLS_CERT_REFUSED_BY_PEER', 'closed right after the handshake'),
      /refused this worker's certificate/,
    ],
    [err('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'), /one side speaks TLS/],
    // grpc-js passes the TLS message on inside its status details.
    [
      {
        code: 14,
        details: "No connection established. Last error: Hostname/IP does not match certificate's altnames",
      },
      /not issued for the name/,
    ],
  ])('names the cause of %o', (e, cause) => {
    expect(tlsFailureCause(e)).toMatch(cause);
  });

  it.each([
    [err('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:29500')],
    [err('ECONNRESET', 'read ECONNRESET')],
    [{ code: 14, details: 'Failed to connect' }],
    [undefined],
  ])('is no TLS failure for %o (stays retryable)', (e) => {
    expect(tlsFailureCause(e)).toBeUndefined();
    expect(tlsMisconfigured('rank 1 (a:1)', e)).toBeUndefined();
  });

  it('makes a permanent error naming the peer, the cause and the original message', () => {
    const e = tlsMisconfigured('rank 1 (10.0.0.7:29502)', err('CERT_HAS_EXPIRED', 'certificate has expired'));
    expect(e).toMatchObject({
      code: 'unauthenticated',
      exitCode: 77,
      message:
        'TLS with rank 1 (10.0.0.7:29502) failed: a certificate is expired or not yet valid (certificate has expired); a restart cannot fix this, correct the certificates',
    });
  });
});
