/**
 * Kubeconfig files and KubeConfig objects for the test control plane: one builder for client-certificate
 * identities (admin, controller manager) and one for bearer tokens (restricted service accounts).
 */
import { writeFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

/** How a kubeconfig user authenticates. */
export type KubeCredentials =
  { clientCertFile: string; clientKeyFile: string } | { token: string } | { tokenFile: string };

/** Everything needed to describe one cluster + user + context. */
export interface KubeconfigSpec {
  server: string;
  caCertFile: string;
  userName: string;
  credentials: KubeCredentials;
  /** Default namespace of the context. */
  namespace?: string;
  contextName?: string;
}

/** Builds the kubeconfig document (as a plain object, the shape `kubectl config view` prints). */
export function buildKubeconfig(spec: KubeconfigSpec): Record<string, unknown> {
  const contextName = spec.contextName ?? `jcl-e2e-${spec.userName}`;
  const c = spec.credentials;
  const user =
    'token' in c
      ? { token: c.token }
      : 'tokenFile' in c
        ? { 'token-file': c.tokenFile }
        : { 'client-certificate': c.clientCertFile, 'client-key': c.clientKeyFile };
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'jcl-e2e', cluster: { server: spec.server, 'certificate-authority': spec.caCertFile } },
    ],
    users: [{ name: spec.userName, user }],
    contexts: [
      {
        name: contextName,
        context: {
          cluster: 'jcl-e2e',
          user: spec.userName,
          ...(spec.namespace ? { namespace: spec.namespace } : {}),
        },
      },
    ],
    'current-context': contextName,
  };
}

/** Writes a kubeconfig file (mode 0600) and returns the loaded KubeConfig. */
export async function writeKubeconfig(file: string, spec: KubeconfigSpec): Promise<KubeConfig> {
  await writeFile(file, stringify(buildKubeconfig(spec)), { mode: 0o600 });
  return loadKubeconfig(file);
}

/** Loads a kubeconfig file into a KubeConfig object. */
export function loadKubeconfig(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}
