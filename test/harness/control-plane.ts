/**
 * A real Kubernetes control plane for tests: etcd, kube-apiserver, kube-controller-manager and kube-scheduler built from
 * source by scripts/controlplane-build.sh, started on free loopback ports with freshly generated PKI, and
 * torn down (whole process groups) on stop(), on process exit, on SIGINT/SIGTERM, or at the next start when
 * a previous owner died without cleaning up.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { generatePki, type ControlPlanePki } from './certs.ts';
import {
  buildApiserverArgs,
  buildControllerManagerArgs,
  buildEtcdArgs,
  buildSchedulerArgs,
  DEFAULT_CONTROLLERS,
  renderSchedulerConfig,
  type PlanePorts,
} from './component-args.ts';
import { findFreePorts } from './free-port.ts';
import { probe } from './http-probe.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { ManagedProcess } from './managed-process.ts';
import { cleanStaleRuns, resolveCacheDir, RunRecordFile } from './run-registry.ts';
import { pollUntil } from './wait.ts';

/** Repository root (test/harness/../..). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Options of {@link startControlPlane}. */
export interface ControlPlaneOptions {
  /** Directory with etcd, kube-apiserver, kube-controller-manager, kubectl. Default: $JCL_CONTROLPLANE_BIN_DIR or the build script's output. */
  binDir?: string;
  /** Cache dir shared with the build script (pid files live under it). Default: $JCL_CACHE_DIR or ~/.cache/jcl-operator. */
  cacheDir?: string;
  /** Readiness deadline for the whole plane. Default 180 s (a 2-core CI runner under load). */
  startTimeoutMs?: number;
  /** kube-controller-manager --controllers. */
  controllers?: readonly string[];
  extraApiserverArgs?: string[];
  extraControllerManagerArgs?: string[];
  extraSchedulerArgs?: string[];
  /** Keep running after this process exits (`scripts/controlplane.ts up`); stop with `down`. */
  persistent?: boolean;
}

/** A running plane. */
export interface ControlPlane {
  /** Admin (system:masters) kubeconfig file. */
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  server: string;
  caCertFile: string;
  pki: ControlPlanePki;
  rootDir: string;
  binDir: string;
  ports: PlanePorts;
  processes: {
    etcd: ManagedProcess;
    apiserver: ManagedProcess;
    controllerManager: ManagedProcess;
    scheduler: ManagedProcess;
  };
  /** Last log lines of every component, for error messages. */
  logTails(maxLines?: number): string;
  /** Stops all components and removes the temp root. Idempotent. */
  stop(): Promise<void>;
}

/** Binaries the plane needs. */
export const PLANE_BINARIES = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
] as const;

/** Finds the directory of built binaries and fails with the command to run when they are missing. */
export function resolveBinDir(explicit?: string): string {
  const dir =
    explicit ??
    process.env.JCL_CONTROLPLANE_BIN_DIR ??
    execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'controlplane-build.sh'), '--print-bin-dir'], {
      encoding: 'utf8',
    }).trim();
  const missing = PLANE_BINARIES.filter((b) => !existsSync(path.join(dir, b)));
  if (missing.length > 0) {
    throw new Error(
      `control plane binaries missing in ${dir}: ${missing.join(', ')}; run scripts/controlplane-build.sh first`,
    );
  }
  return dir;
}

/**
 * Starts etcd, kube-apiserver and kube-controller-manager and waits until the plane serves requests.
 * A start that loses a port race (another process took a chosen free port before our component bound it)
 * is retried once on new ports.
 */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  try {
    return await startOnce(opts);
  } catch (err) {
    if (!(err instanceof ExitedError) || !/address already in use/i.test(err.message)) throw err;
    return startOnce(opts);
  }
}

async function startOnce(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const cacheDir = opts.cacheDir ?? resolveCacheDir();
  const binDir = resolveBinDir(opts.binDir);
  const timeoutMs = opts.startTimeoutMs ?? 180_000;
  const deadline = Date.now() + timeoutMs;
  const remaining = (): number => Math.max(1_000, deadline - Date.now());
  cleanStaleRuns(cacheDir);

  const rootDir = await mkdtemp(path.join(os.tmpdir(), 'jcl-controlplane-'));
  const dirs = {
    pki: path.join(rootDir, 'pki'),
    etcd: path.join(rootDir, 'etcd'),
    logs: path.join(rootDir, 'logs'),
    certs: path.join(rootDir, 'serving-certs'),
  };
  await Promise.all(Object.values(dirs).map((d) => mkdir(d, { recursive: true, mode: 0o700 })));
  const registry = new RunRecordFile(cacheDir, `controlplane-${path.basename(rootDir)}`, {
    persistent: opts.persistent,
    rootDir,
  });
  const started: ManagedProcess[] = [];
  const launch = (name: string, binary: string, args: string[]): ManagedProcess => {
    const proc = new ManagedProcess({
      name,
      command: path.join(binDir, binary),
      args,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      cwd: rootDir,
      stdoutFile: path.join(dirs.logs, `${name}.log`),
      registry,
      marker: rootDir,
      detachFromParent: opts.persistent,
    });
    started.push(proc);
    return proc;
  };
  const tails = (maxLines = 30): string =>
    started.map((p) => `--- ${p.name} (${p.stdoutFile}) ---\n${p.tail(maxLines)}`).join('\n');
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // Reverse start order: controllers first, etcd last, so nobody logs errors about a vanished backend.
    for (const proc of [...started].reverse()) await proc.stop(10_000);
    registry.close();
    await rm(rootDir, { recursive: true, force: true });
  };

  try {
    const [etcdClient, etcdPeer, apiserverPort, controllerManagerPort, schedulerPort] =
      await findFreePorts(5);
    const ports: PlanePorts = {
      etcdClient,
      etcdPeer,
      apiserver: apiserverPort,
      controllerManager: controllerManagerPort,
      scheduler: schedulerPort,
    };
    const pki = await generatePki(dirs.pki);

    const etcd = launch('etcd', 'etcd', buildEtcdArgs(dirs.etcd, ports));
    await waitForComponent(etcd, 'etcd /health', remaining(), tails, async () => {
      const r = await probe(`http://127.0.0.1:${ports.etcdClient}/health`);
      return r.status === 200 && r.body.includes('"true"') ? true : undefined;
    });

    const apiserver = launch(
      'kube-apiserver',
      'kube-apiserver',
      buildApiserverArgs(pki, ports, dirs.certs, opts.extraApiserverArgs),
    );
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const [ca, cert, key] = await Promise.all(
      [pki.caCert, pki.adminCert, pki.adminKey].map((f) => readFile(f, 'utf8')),
    );
    await waitForComponent(apiserver, 'kube-apiserver /readyz', remaining(), tails, async () => {
      const r = await probe(`${server}/readyz`, { ca, cert, key });
      return r.status === 200 ? true : undefined;
    });

    const kubeconfigPath = path.join(rootDir, 'admin.kubeconfig');
    const kubeConfig = await writeKubeconfig(kubeconfigPath, {
      server,
      caCertFile: pki.caCert,
      userName: 'admin',
      credentials: { clientCertFile: pki.adminCert, clientKeyFile: pki.adminKey },
    });
    /** A client-certificate kubeconfig for a component user (bound by the bootstrap RBAC policy). */
    const componentKubeconfig = async (file: string, userName: string, cert: string, key: string) => {
      const kubeconfigFile = path.join(rootDir, file);
      await writeKubeconfig(kubeconfigFile, {
        server,
        caCertFile: pki.caCert,
        userName,
        credentials: { clientCertFile: cert, clientKeyFile: key },
      });
      return kubeconfigFile;
    };
    /** Waits for a component's secure /healthz (self-signed serving certificate). */
    const healthz = (proc: ManagedProcess, port: number) =>
      waitForComponent(proc, `${proc.name} /healthz`, remaining(), tails, async () => {
        const r = await probe(`https://127.0.0.1:${port}/healthz`, { insecure: true });
        return r.status === 200 ? true : undefined;
      });
    const kcmKubeconfig = await componentKubeconfig(
      'controller-manager.kubeconfig',
      'system:kube-controller-manager',
      pki.controllerManagerCert,
      pki.controllerManagerKey,
    );
    const controllerManager = launch(
      'kube-controller-manager',
      'kube-controller-manager',
      buildControllerManagerArgs(
        pki,
        ports,
        kcmKubeconfig,
        dirs.certs,
        opts.controllers ?? DEFAULT_CONTROLLERS,
        opts.extraControllerManagerArgs,
      ),
    );
    await healthz(controllerManager, ports.controllerManager);
    const schedulerKubeconfig = await componentKubeconfig(
      'scheduler.kubeconfig',
      'system:kube-scheduler',
      pki.schedulerCert,
      pki.schedulerKey,
    );
    const schedulerConfig = path.join(rootDir, 'scheduler-config.yaml');
    await writeFile(schedulerConfig, renderSchedulerConfig(schedulerKubeconfig));
    const scheduler = launch(
      'kube-scheduler',
      'kube-scheduler',
      buildSchedulerArgs(ports, schedulerConfig, schedulerKubeconfig, dirs.certs, opts.extraSchedulerArgs),
    );
    await healthz(scheduler, ports.scheduler);
    // Pods cannot be admitted before the serviceaccount controller creates "default" (ServiceAccount admission).
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await waitForComponent(
      controllerManager,
      'ServiceAccount default/default',
      remaining(),
      tails,
      async () => {
        await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
        return true;
      },
    );

    const plane: ControlPlane = {
      kubeconfigPath,
      kubeConfig,
      server,
      caCertFile: pki.caCert,
      pki,
      rootDir,
      binDir,
      ports,
      processes: { etcd, apiserver, controllerManager, scheduler },
      logTails: tails,
      stop,
    };
    await writeFile(
      path.join(rootDir, 'plane.json'),
      JSON.stringify({ kubeconfigPath, server, ports, binDir, registry: registry.file }, null, 2),
    );
    return plane;
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** Polls `ready` and fails fast, with log tails, if the component exits while we wait. */
async function waitForComponent(
  proc: ManagedProcess,
  description: string,
  timeoutMs: number,
  tails: (maxLines?: number) => string,
  ready: () => Promise<true | undefined>,
): Promise<void> {
  await pollUntil(
    async () => {
      if (!proc.running) {
        const exit = proc.exitInfo;
        throw new ExitedError(
          `${proc.name} exited (code ${exit?.code}, signal ${exit?.signal}) before ${description} was ready\n${tails(60)}`,
        );
      }
      return ready();
    },
    {
      timeoutMs,
      intervalMs: 200,
      description,
      diagnose: () => tails(60),
      fatal: (e) => e instanceof ExitedError,
    },
  );
}

class ExitedError extends Error {}
