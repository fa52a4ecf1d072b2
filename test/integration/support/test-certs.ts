/**
 * Throw-away X.509 material for the TLS tests (openssl): a CA, and certificates it signs for the names
 * a test chooses, so that name mismatches, foreign CAs and per-rank names can be staged on loopback.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  /** PEM of the CA certificate. */
  ca: Buffer;
  /** A leaf certificate and key signed by this CA, holding `altNames` ("IP:127.0.0.1", "DNS:x"). */
  issue(altNames: string[]): { ca: Buffer; cert: Buffer; key: Buffer };
  /** Remove the files. */
  dispose(): void;
}

let serial = 0;

/** A fresh CA in a temporary directory. */
export function createTestCa(name = 'jcl-test-ca'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'jcl-tls-'));
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl(
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`],
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
  );
  const ca = readFileSync(f('ca.crt'));
  return {
    ca,
    issue(altNames) {
      const id = `w${++serial}`;
      ssl(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=jcl-worker',
        '-keyout',
        f(`${id}.key`),
        '-out',
        f(`${id}.csr`),
      );
      writeFileSync(
        f(`${id}.cnf`),
        `subjectAltName=${altNames.join(',')}\nextendedKeyUsage=serverAuth,clientAuth\n`,
      );
      ssl(
        'x509',
        '-req',
        '-in',
        f(`${id}.csr`),
        '-CA',
        f('ca.crt'),
        '-CAkey',
        f('ca.key'),
        '-CAcreateserial',
        '-days',
        '1',
        '-extfile',
        f(`${id}.cnf`),
        '-out',
        f(`${id}.crt`),
      );
      return { ca, cert: readFileSync(f(`${id}.crt`)), key: readFileSync(f(`${id}.key`)) };
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
