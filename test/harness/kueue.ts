/**
 * Real Kueue (sigs.k8s.io/kueue's manager, built by scripts/kueue-build.sh) as a local process against the
 * test apiserver (issue 16). What a cluster install does with a Deployment, a Service and cert-manager,
 * this does on loopback: the CRDs from the module's config/components/crd, a CA and serving certificate
 * generated here (Kueue's internal cert management off, the certificate read from `webhook.certDir`), and
 * Kueue's own webhook configurations pointed at `https://127.0.0.1:<port><path>` with that CA as caBundle
 * (kueue-webhooks.ts). Only the pod framework is enabled, and its webhooks and managedJobsNamespaceSelector
 * are limited to the given namespaces, so the other e2e files sharing the plane never call Kueue.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { AdmissionregistrationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { generateServingPki } from './certs.ts';
import { REPO_ROOT, resolveBinDir } from './control-plane.ts';
import { findFreePorts } from './free-port.ts';
import { probe } from './http-probe.ts';
import { kueueConfiguration, loopbackWebhookConfigurations } from './kueue-webhooks.ts';
import { ManagedProcess } from './managed-process.ts';
import { describeError, pollUntil } from './wait.ts';

const run = promisify(execFile);

/** Kueue's finalizer on the pods it manages (removed when a group finishes or its pods are deleted). */
export const KUEUE_POD_FINALIZER = 'kueue.x-k8s.io/managed';
/** The namespace Kueue's configuration names as its own. */
export const KUEUE_NAMESPACE = 'kueue-system';

/** Options of {@link startKueue}. */
export interface KueueOptions {
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  /** Namespaces whose pods Kueue manages (its webhooks see no other namespace). */
  namespaces: string[];
  /** Default: JCL_KUEUE_BIN_DIR, else what scripts/kueue-build.sh --print-bin-dir names. */
  binDir?: string;
  startTimeoutMs?: number;
}

/** A running Kueue manager. */
export interface KueueProcess {
  process: ManagedProcess;
  logFile: string;
  /** Last log lines, for error messages. */
  tail(maxLines?: number): string;
  /** Deletes its webhook configurations, stops the manager, drops its finalizer from leftover pods. */
  stop(): Promise<void>;
}

/** The directory holding the kueue binary, its CRDs and webhook manifest; fails naming the command to run. */
export function resolveKueueBinDir(explicit?: string): string {
  const dir =
    explicit ??
    process.env.JCL_KUEUE_BIN_DIR ??
    execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'kueue-build.sh'), '--print-bin-dir'], {
      encoding: 'utf8',
    }).trim();
  for (const f of ['kueue', 'webhook.yaml', 'crd']) {
    if (!existsSync(path.join(dir, f)))
      throw new Error(`Kueue build missing in ${dir} (no ${f}): run scripts/kueue-build.sh first`);
  }
  return dir;
}

/** Installs Kueue's CRDs, starts the manager, waits until it is ready and registers its webhooks. */
export async function startKueue(opts: KueueOptions): Promise<KueueProcess> {
  const binDir = resolveKueueBinDir(opts.binDir);
  const kubectl = path.join(resolveBinDir(), 'kubectl');
  const env = { ...process.env, KUBECONFIG: opts.kubeconfigPath };
  const kubectlRun = (args: string[]) => run(kubectl, args, { env, timeout: 120_000 });
  await kubectlRun(['apply', '--server-side', '--force-conflicts', '-f', path.join(binDir, 'crd')]);
  await kubectlRun(['wait', '--for=condition=Established', '--timeout=60s', '-f', path.join(binDir, 'crd')]);
  const core = opts.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: KUEUE_NAMESPACE } } }).catch((err: unknown) => {
    if ((err as { code?: number }).code !== 409) throw err;
  });

  const rootDir = await mkdtemp(path.join(os.tmpdir(), 'jcl-kueue-'));
  const certDir = path.join(rootDir, 'certs');
  await mkdir(certDir, { recursive: true, mode: 0o700 });
  const pki = await generateServingPki(certDir, 'kueue-webhook', ['IP:127.0.0.1', 'DNS:localhost']);
  const [webhookPort, healthPort] = await findFreePorts(2);
  const configFile = path.join(rootDir, 'config.yaml');
  await writeFile(
    configFile,
    stringify(
      kueueConfiguration({
        webhookPort,
        healthPort,
        certDir,
        namespace: KUEUE_NAMESPACE,
        namespaces: opts.namespaces,
      }),
    ),
  );
  // Beside the run directory, so that it outlives stop() (like the operator's log) for failure reports.
  const logFile = `${rootDir}.log`;
  const proc = new ManagedProcess({
    name: 'kueue',
    command: path.join(binDir, 'kueue'),
    args: [`--config=${configFile}`, `--kubeconfig=${opts.kubeconfigPath}`, '--zap-log-level=info'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: opts.kubeconfigPath },
    cwd: rootDir,
    stdoutFile: logFile,
    marker: rootDir,
  });
  const tail = (maxLines = 40) => proc.tail(maxLines);
  const admission = opts.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const configName = `jcl-e2e-kueue-${path.basename(rootDir).slice('jcl-kueue-'.length).toLowerCase()}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await admission
      .deleteMutatingWebhookConfiguration({ name: `${configName}-mutating` })
      .catch(() => undefined);
    await admission
      .deleteValidatingWebhookConfiguration({ name: `${configName}-validating` })
      .catch(() => undefined);
    await proc.stop(10_000);
    await dropFinalizers(core, opts.namespaces);
    await rm(rootDir, { recursive: true, force: true });
  };
  try {
    await pollUntil(
      async () => {
        if (proc.exitInfo) throw new Error(`kueue exited with ${proc.exitInfo.exitCode}:\n${tail()}`);
        const r = await probe(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined);
        return r?.status === 200 ? true : undefined;
      },
      {
        timeoutMs: opts.startTimeoutMs ?? 120_000,
        description: 'Kueue manager /readyz',
        diagnose: () => tail(),
      },
    );
    const manifest = await readFile(path.join(binDir, 'webhook.yaml'), 'utf8');
    const { mutating, validating } = loopbackWebhookConfigurations(manifest, {
      name: configName,
      port: webhookPort,
      caPem: await readFile(pki.caCert, 'utf8'),
      namespaces: opts.namespaces,
    });
    await admission.createMutatingWebhookConfiguration({ body: mutating });
    await admission.createValidatingWebhookConfiguration({ body: validating });
  } catch (err) {
    await stop().catch(() => undefined);
    throw new Error(`Kueue did not start: ${describeError(err)}\n--- kueue log ---\n${tail()}`, {
      cause: err,
    });
  }
  return { process: proc, logFile, tail, stop };
}

/** Removes Kueue's pod finalizer from every pod left in `namespaces`, so their deletion does not hang. */
async function dropFinalizers(core: CoreV1Api, namespaces: string[]): Promise<void> {
  for (const namespace of namespaces) {
    const pods = await core.listNamespacedPod({ namespace }).catch(() => ({ items: [] }));
    for (const pod of pods.items) {
      const finalizers = pod.metadata?.finalizers ?? [];
      if (!finalizers.includes(KUEUE_POD_FINALIZER)) continue;
      await core
        .patchNamespacedPod({
          name: pod.metadata?.name ?? '',
          namespace,
          body: [
            {
              op: 'replace',
              path: '/metadata/finalizers',
              value: finalizers.filter((f) => f !== KUEUE_POD_FINALIZER),
            },
          ],
        })
        .catch(() => undefined);
    }
  }
}
