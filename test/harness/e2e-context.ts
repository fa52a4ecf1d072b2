/**
 * What an e2e test file uses to reach the shared control plane: the admin KubeConfig, a fresh namespace per
 * test (deleted afterwards), and the component logs to attach to failures.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CoreV1Api, type KubeConfig, type V1Namespace, type V1Pod } from '@kubernetes/client-node';
import { afterAll, inject } from 'vitest';
import { loadKubeconfig } from './kubeconfig.ts';
import { tailFile } from './managed-process.ts';
import { installExitHooks } from './run-registry.ts';
import { pollUntil } from './wait.ts';

/** Coordinates of the plane started by global-setup.ts (serializable: it crosses into the test workers). */
export interface ControlPlaneInfo {
  kubeconfigPath: string;
  startupMs: number;
  /** Component logs; empty when the plane was adopted from JCL_E2E_KUBECONFIG. */
  logsDir: string;
}

/** The plane of this test run with an admin KubeConfig. */
export function useControlPlane(): ControlPlaneInfo & {
  kubeConfig: KubeConfig;
  logTails: (maxLines?: number) => string;
} {
  const info = inject('controlPlane');
  if (!info)
    throw new Error(
      'controlPlane was not provided: run e2e tests with vitest.e2e.config.ts (npm run test:e2e)',
    );
  installExitHooks();
  return {
    ...info,
    kubeConfig: loadKubeconfig(info.kubeconfigPath),
    logTails: (maxLines = 30) => logTails(info.logsDir, maxLines),
  };
}

/** Last lines of every component log in `logsDir`. */
export function logTails(logsDir: string, maxLines = 30): string {
  if (!logsDir) return '(plane adopted from JCL_E2E_KUBECONFIG: no local logs)';
  return readdirSync(logsDir)
    .map((f) => `--- ${f} ---\n${tailFile(path.join(logsDir, f), maxLines)}`)
    .join('\n');
}

/**
 * Creates a namespace named `<prefix>-<random>` with `labels` and waits for its default ServiceAccount
 * (ServiceAccount admission rejects pods until the controller creates it).
 */
export async function createTestNamespace(
  kc: KubeConfig,
  prefix: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
  const body: V1Namespace = { metadata: { name, labels } };
  await core.createNamespace({ body });
  await pollUntil(
    () => core.readNamespacedServiceAccount({ name: 'default', namespace: name }).then(() => true),
    {
      timeoutMs: 60_000,
      description: `ServiceAccount ${name}/default (serviceaccount controller)`,
    },
  );
  return name;
}

/**
 * For a test file that creates namespaces as it goes: returns a function creating one (as
 * createTestNamespace) and deletes every namespace it created after the file's tests (afterAll).
 */
export function useTestNamespaces(
  kc: KubeConfig,
): (prefix: string, labels?: Record<string, string>) => Promise<string> {
  const created: string[] = [];
  afterAll(async () => {
    await Promise.all(created.map((ns) => deleteTestNamespace(kc, ns)));
  });
  return async (prefix, labels = {}) => {
    const ns = await createTestNamespace(kc, prefix, labels);
    created.push(ns);
    return ns;
  };
}

/** Deletes a namespace without waiting for the namespace controller to finish. */
export async function deleteTestNamespace(kc: KubeConfig, name: string): Promise<void> {
  await kc
    .makeApiClient(CoreV1Api)
    .deleteNamespace({ name })
    .catch(() => undefined);
}

/** Reads a small text file, or '' when it does not exist (pod output files in assertions). */
export function readIfExists(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Polls a pod until `done(pod)` holds; the timeout error names the pod, the awaited state, the pod's last
 * phase and container states, and `diagnose()` (pass the node harness's log tails).
 */
export async function waitForPod(
  kc: KubeConfig,
  namespace: string,
  name: string,
  description: string,
  done: (pod: V1Pod) => boolean,
  opts: { timeoutMs?: number; diagnose?: () => string } = {},
): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  let last: V1Pod | undefined;
  return pollUntil(
    async () => {
      last = await core.readNamespacedPod({ name, namespace });
      return done(last) ? last : undefined;
    },
    {
      timeoutMs: opts.timeoutMs ?? 120_000,
      description: `pod ${namespace}/${name} ${description}`,
      diagnose: () =>
        `last phase ${last?.status?.phase}, containers ${JSON.stringify(last?.status?.containerStatuses?.map((c) => c.state))}\n${opts.diagnose?.() ?? ''}`,
    },
  );
}
