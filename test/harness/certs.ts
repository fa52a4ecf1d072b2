/**
 * The PKI of a throwaway control plane, generated with the `openssl` CLI (node:crypto cannot sign X.509):
 * one CA, the apiserver serving certificate, client certificates for the admin and the controller manager,
 * and the service-account signing key pair. EC P-256 keeps generation well under a second.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Paths of the generated PEM files. */
export interface ControlPlanePki {
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  adminCert: string;
  adminKey: string;
  controllerManagerCert: string;
  controllerManagerKey: string;
  schedulerCert: string;
  schedulerKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

/** A client or server certificate request. */
interface CertRequest {
  name: string;
  subject: string;
  extensions: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(err)}`, { cause: err });
  }
}

async function generateEcKey(file: string): Promise<void> {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

async function signCert(
  dir: string,
  req: CertRequest,
  caCert: string,
  caKey: string,
): Promise<[string, string]> {
  const key = path.join(dir, `${req.name}.key`);
  const csr = path.join(dir, `${req.name}.csr`);
  const crt = path.join(dir, `${req.name}.crt`);
  const ext = path.join(dir, `${req.name}.ext`);
  await generateEcKey(key);
  await openssl(['req', '-new', '-key', key, '-subj', req.subject, '-out', csr]);
  await writeFile(ext, req.extensions);
  await openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    caCert,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-days',
    '30',
    '-sha256',
    '-extfile',
    ext,
    '-out',
    crt,
  ]);
  return [crt, key];
}

/** A self-signed CA (`ca.crt`, `ca.key` in `dir`). */
async function generateCa(dir: string, commonName: string): Promise<[string, string]> {
  const caKey = path.join(dir, 'ca.key');
  const caCert = path.join(dir, 'ca.crt');
  await generateEcKey(caKey);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    caKey,
    '-subj',
    `/CN=${commonName}`,
    '-days',
    '30',
    '-sha256',
    '-out',
    caCert,
  ]);
  return [caCert, caKey];
}

/** A serving certificate and the CA that signed it, e.g. for a webhook server the apiserver calls. */
export interface ServingPki {
  caCert: string;
  cert: string;
  key: string;
}

/**
 * A CA plus one serving certificate for `sans` (e.g. `['IP:127.0.0.1']`) into `dir` (which must exist), as
 * `tls.crt` / `tls.key`: the file names controller-runtime's webhook server reads from its certDir.
 */
export async function generateServingPki(
  dir: string,
  commonName: string,
  sans: string[],
): Promise<ServingPki> {
  const [caCert, caKey] = await generateCa(dir, `${commonName}-ca`);
  const ext = `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans.join(',')}\n`;
  const [cert, key] = await signCert(
    dir,
    { name: 'tls', subject: `/CN=${commonName}`, extensions: ext },
    caCert,
    caKey,
  );
  return { caCert, cert, key };
}

/** Generates every certificate and key the plane needs into `dir` (which must exist). */
export async function generatePki(dir: string): Promise<ControlPlanePki> {
  const [caCert, caKey] = await generateCa(dir, 'jcl-e2e-ca');

  const serverSans = [
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
    'IP:127.0.0.1',
    'IP:10.0.0.1',
  ].join(',');
  const serverExt = `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${serverSans}\n`;
  const clientExt =
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n';

  const [apiserverCert, apiserverKey] = await signCert(
    dir,
    { name: 'apiserver', subject: '/CN=kube-apiserver', extensions: serverExt },
    caCert,
    caKey,
  );
  // O=system:masters is the built-in cluster-admin group; the tests' "admin" identity.
  const [adminCert, adminKey] = await signCert(
    dir,
    { name: 'admin', subject: '/O=system:masters/CN=jcl-e2e-admin', extensions: clientExt },
    caCert,
    caKey,
  );
  // The bootstrap RBAC policy grants this user what it needs to run controllers with per-controller service accounts.
  const [controllerManagerCert, controllerManagerKey] = await signCert(
    dir,
    { name: 'controller-manager', subject: '/CN=system:kube-controller-manager', extensions: clientExt },
    caCert,
    caKey,
  );
  // Bound by the bootstrap policy to system:kube-scheduler (and system:volume-scheduler).
  const [schedulerCert, schedulerKey] = await signCert(
    dir,
    { name: 'scheduler', subject: '/CN=system:kube-scheduler', extensions: clientExt },
    caCert,
    caKey,
  );

  const serviceAccountKey = path.join(dir, 'sa.key');
  const serviceAccountPub = path.join(dir, 'sa.pub');
  await openssl([
    'genpkey',
    '-algorithm',
    'RSA',
    '-pkeyopt',
    'rsa_keygen_bits:2048',
    '-out',
    serviceAccountKey,
  ]);
  await openssl(['pkey', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPub]);

  return {
    caCert,
    caKey,
    apiserverCert,
    apiserverKey,
    adminCert,
    adminKey,
    controllerManagerCert,
    controllerManagerKey,
    schedulerCert,
    schedulerKey,
    serviceAccountKey,
    serviceAccountPub,
  };
}
