/**
 * Runs one pod as local processes, the way a kubelet runs its containers: volumes materialized as local
 * directories, env resolved, init containers one after another (a native sidecar, restartPolicy Always,
 * is started and left running beside the containers, then stopped after them), then all containers,
 * restarts by the pod's restartPolicy, termination messages read from the mapped terminationMessagePath. Every change of state is
 * handed to `publish`, which writes the status subresource.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { buildKubeconfig } from './kubeconfig.ts';
import { ManagedProcess, tailFile } from './managed-process.ts';
import {
  resolveContainerArgv,
  resolveContainerEnv,
  rewritePaths,
  type PathMapping,
  type ReferencedData,
} from './pod-env.ts';
import {
  buildPodStatus,
  shouldRestart,
  terminalPhase,
  terminationReason,
  type ContainerRecord,
  type PodRecord,
  type RestartPolicy,
} from './pod-status.ts';
import { buildPathMapping, materializeVolumes, type VolumeSources } from './pod-volumes.ts';
import type { RunRecordFile } from './run-registry.ts';
import { sleep } from './wait.ts';

/** Everything a runner needs from its node. */
export interface PodRunnerContext {
  podDir: string;
  sharedDir: string;
  podIP: string;
  hostIP: string;
  sources: VolumeSources;
  /** Loads the ConfigMaps/Secrets referenced by env/envFrom. */
  loadReferencedData(pod: V1Pod): Promise<ReferencedData>;
  /** Base environment (PATH, NODE_OPTIONS with the preload, KUBERNETES_SERVICE_*, JCL_HARNESS_*). */
  baseEnv: Record<string, string>;
  /** image -> entrypoint argv, for containers without `command`. */
  entrypoints: Readonly<Record<string, string[]>>;
  /** argv[0] -> replacement prefix (e.g. jcl -> [node, /repo/bin/jcl.js]). */
  commandMap: Readonly<Record<string, string[]>>;
  restartBackoffMs: number;
  registry: RunRecordFile;
  publish(pod: V1Pod, record: PodRecord): void;
}

const MAX_TERMINATION_MESSAGE_BYTES = 4096;
const SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** How long native sidecars get between SIGTERM and SIGKILL once the containers exited. */
const SIDECAR_GRACE_MS = 2_000;

/** Delay before retrying a pod whose volumes or env references cannot be resolved yet. */
const CONFIG_RETRY_MS = 1_000;

/** One pod's processes and the record its status is built from. */
export class PodRunner {
  readonly record: PodRecord;
  private readonly processes = new Map<string, ManagedProcess>();
  private stopping = false;
  private pendingKillReason: string | undefined;

  constructor(
    readonly pod: V1Pod,
    private readonly ctx: PodRunnerContext,
  ) {
    const waiting = (c: V1Container): ContainerRecord => ({
      name: c.name,
      image: c.image ?? '',
      state: 'waiting',
      reason: 'PodInitializing',
      restartCount: 0,
    });
    this.record = {
      phase: 'Pending',
      hostIP: ctx.hostIP,
      startTime: new Date(),
      initContainers: (pod.spec?.initContainers ?? []).map((c) => ({
        ...waiting(c),
        ...(c.restartPolicy === 'Always' ? { sidecar: true } : {}),
      })),
      containers: (pod.spec?.containers ?? []).map((c) => ({ ...waiting(c), reason: 'ContainerCreating' })),
    };
  }

  /** The pod's local directory. */
  get dir(): string {
    return this.ctx.podDir;
  }

  /** Status as it would be published now. */
  status(): ReturnType<typeof buildPodStatus> {
    return buildPodStatus(this.record, new Date());
  }

  /** Keeps the pod Pending with every container waiting for `reason` (the "never starts" fault). */
  holdWaiting(reason: string, message: string): void {
    const unchanged = this.record.containers.every(
      (c) => c.state === 'waiting' && c.reason === reason && c.message === message,
    );
    for (const c of this.record.containers) Object.assign(c, { state: 'waiting', reason, message });
    if (!unchanged) this.publish();
  }

  /** Starts the pod; resolves once it reached a terminal phase or was stopped. */
  async run(): Promise<void> {
    const policy = (this.pod.spec?.restartPolicy ?? 'Always') as RestartPolicy;
    // Like the kubelet, wait for what the pod references (the namespace's kube-root-ca.crt, a Secret created
    // after the pod) instead of failing: the pod stays Pending with the reason until it appears.
    let volumeDirs: Map<string, string> | undefined;
    let data: ReferencedData | undefined;
    while (!this.stopping && (volumeDirs === undefined || data === undefined)) {
      try {
        await mkdir(path.join(this.ctx.podDir, 'tmp'), { recursive: true });
        volumeDirs = await materializeVolumes(
          this.pod,
          { podDir: this.ctx.podDir, sharedDir: this.ctx.sharedDir },
          this.ctx.sources,
          this.runtime(),
        );
        data = await this.ctx.loadReferencedData(this.pod);
      } catch (err) {
        this.holdWaiting('CreateContainerConfigError', (err as Error).message);
        await sleep(CONFIG_RETRY_MS);
      }
    }
    if (this.stopping || volumeDirs === undefined || data === undefined) return;
    const dirs = volumeDirs;
    let refs = data;
    /** Runs a container until it exits; a container that cannot be configured is retried, refs reloaded. */
    const runConfigured = async (
      container: V1Container,
      rec: ContainerRecord,
    ): Promise<number | undefined> => {
      while (!this.stopping) {
        const exitCode = await this.runContainer(container, rec, dirs, refs);
        if (exitCode !== undefined) return exitCode;
        await sleep(CONFIG_RETRY_MS);
        refs = await this.ctx.loadReferencedData(this.pod).catch(() => refs);
      }
      return undefined;
    };
    this.record.podIP = this.ctx.podIP;
    let mainDone = false;
    const sidecars: Promise<void>[] = [];
    for (const [i, container] of (this.pod.spec?.initContainers ?? []).entries()) {
      const rec = this.record.initContainers[i];
      if (rec.sidecar) {
        // Restarted whatever the pod's policy, until the containers are done; the next init container
        // starts once this one runs.
        sidecars.push(
          (async () => {
            while (!this.stopping && !mainDone) {
              const exitCode = await runConfigured(container, rec);
              if (exitCode === undefined || this.stopping || mainDone) return;
              rec.restartCount += 1;
              await sleep(this.ctx.restartBackoffMs);
            }
          })(),
        );
        while (!this.stopping && rec.state === 'waiting') await sleep(50);
        continue;
      }
      while (!this.stopping) {
        const exitCode = await runConfigured(container, rec);
        if (exitCode === undefined || exitCode === 0) break;
        if (policy === 'Never') return this.finish('Failed');
        rec.restartCount += 1;
        await sleep(this.ctx.restartBackoffMs);
      }
      if (this.stopping) return;
    }
    await Promise.all(
      (this.pod.spec?.containers ?? []).map(async (container, i) => {
        const rec = this.record.containers[i];
        while (!this.stopping) {
          const exitCode = await runConfigured(container, rec);
          if (exitCode === undefined || this.stopping || !shouldRestart(policy, exitCode)) return;
          rec.restartCount += 1;
          await sleep(this.ctx.restartBackoffMs);
        }
      }),
    );
    mainDone = true;
    const sidecarNames = new Set(this.record.initContainers.filter((c) => c.sidecar).map((c) => c.name));
    await Promise.all(
      [...this.processes].filter(([name]) => sidecarNames.has(name)).map(([, p]) => p.stop(SIDECAR_GRACE_MS)),
    );
    await Promise.all(sidecars);
    if (!this.stopping) this.finish(terminalPhase(this.record.containers));
  }

  /** Injects a crash: signals the container's process group (first container by default). */
  kill(signal: NodeJS.Signals = 'SIGKILL', containerName?: string, reason?: string): boolean {
    const name = containerName ?? this.pod.spec?.containers[0]?.name ?? '';
    const proc = this.processes.get(name);
    if (!proc || !proc.running) return false;
    this.pendingKillReason = reason;
    proc.signal(signal);
    return true;
  }

  /** Stops every process (SIGTERM, then SIGKILL after `graceMs`) and records them as terminated. */
  async terminate(graceMs: number): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.processes.values()].map((p) => p.stop(graceMs)));
    for (const c of [...this.record.initContainers, ...this.record.containers]) {
      if (c.state === 'waiting')
        Object.assign(c, {
          state: 'terminated',
          exitCode: 137,
          reason: 'ContainerStatusUnknown',
          finishedAt: new Date(),
        });
    }
    if (this.record.phase === 'Running' || this.record.phase === 'Pending')
      this.record.phase = terminalPhase(this.record.containers);
    this.publish();
  }

  private runtime(): { podIP: string; hostIP: string } {
    return { podIP: this.ctx.podIP, hostIP: this.ctx.hostIP };
  }

  private publish(): void {
    this.ctx.publish(this.pod, this.record);
  }

  private finish(phase: 'Succeeded' | 'Failed'): void {
    this.record.phase = phase;
    this.publish();
  }

  /** Runs one container to exit; returns its exit code, or undefined when it cannot be configured (it then stays waiting). */
  private async runContainer(
    container: V1Container,
    rec: ContainerRecord,
    volumeDirs: Map<string, string>,
    data: ReferencedData,
  ): Promise<number | undefined> {
    const logDir = path.join(this.ctx.podDir, 'logs');
    await mkdir(logDir, { recursive: true });
    const terminationLog = path.join(this.ctx.podDir, `termination-log-${container.name}`);
    await writeFile(terminationLog, '');
    let argv: string[];
    let env: Record<string, string>;
    try {
      const mapping = buildPathMapping(container, volumeDirs, terminationLog);
      const podEnv = resolveContainerEnv(this.pod, container, data, this.runtime(), mapping);
      argv = resolveContainerArgv(container, podEnv, mapping, this.ctx.entrypoints[container.image ?? '']);
      const mapped = this.ctx.commandMap[argv[0]];
      if (mapped) argv = [...mapped, ...argv.slice(1)];
      const nodeOptions = [podEnv.NODE_OPTIONS, this.ctx.baseEnv.NODE_OPTIONS].filter(Boolean).join(' ');
      const kubeconfig = await this.writeInClusterKubeconfig(container, mapping);
      env = {
        ...this.ctx.baseEnv,
        JCL_TERMINATION_LOG: terminationLog,
        ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}),
        ...podEnv,
        NODE_OPTIONS: nodeOptions,
      };
      const cwd = container.workingDir
        ? rewritePaths(container.workingDir, mapping)
        : path.join(this.ctx.podDir, 'tmp');
      await mkdir(cwd, { recursive: true });
      const proc = new ManagedProcess({
        name: `${this.pod.metadata?.namespace}/${this.pod.metadata?.name}/${container.name}`,
        command: argv[0],
        args: argv.slice(1),
        env,
        cwd,
        stdoutFile: path.join(logDir, `${container.name}-${rec.restartCount}.stdout.log`),
        stderrFile: path.join(logDir, `${container.name}-${rec.restartCount}.stderr.log`),
        registry: this.ctx.registry,
        marker: this.ctx.podDir,
      });
      this.processes.set(container.name, proc);
      if (rec.state === 'terminated') {
        rec.lastTerminated = {
          exitCode: rec.exitCode ?? 0,
          reason: rec.reason ?? '',
          message: rec.message,
          startedAt: rec.startedAt,
          finishedAt: rec.finishedAt,
          containerID: rec.containerID,
        };
      }
      Object.assign(rec, {
        state: 'running',
        reason: undefined,
        message: undefined,
        startedAt: proc.startedAt,
        containerID: `harness://${proc.pid}`,
      });
      this.record.podIP = this.ctx.podIP;
      if (
        this.record.phase === 'Pending' &&
        this.record.initContainers.every(
          (c) => c.state === 'terminated' || (c.sidecar && c.state === 'running'),
        )
      )
        this.record.phase = 'Running';
      this.publish();
      const exit = await proc.exited;
      const reason =
        this.pendingKillReason ?? terminationReason(exit.exitCode, proc.killedByHarness, exit.signal);
      this.pendingKillReason = undefined;
      const message = await this.terminationMessage(container, terminationLog, proc, exit.exitCode);
      Object.assign(rec, {
        state: 'terminated',
        exitCode: exit.exitCode,
        reason,
        message,
        finishedAt: exit.finishedAt,
      });
      this.publish();
      return exit.exitCode;
    } catch (err) {
      Object.assign(rec, {
        state: 'waiting',
        reason: 'CreateContainerConfigError',
        message: (err as Error).message,
      });
      this.publish();
      return undefined;
    }
  }

  /**
   * In-cluster clients read the service-account files at a fixed path that cannot be mapped; a kubeconfig
   * (KUBECONFIG, read first by client-node's loadFromDefault and by kubectl) pointing at the mapped token and
   * CA gives the process the same identity: its ServiceAccount, with RBAC enforced.
   */
  private async writeInClusterKubeconfig(
    container: V1Container,
    mapping: PathMapping,
  ): Promise<string | undefined> {
    const dir = mapping.find((m) => m.containerPath === SERVICE_ACCOUNT_MOUNT)?.localPath;
    if (!dir) return undefined;
    const file = path.join(this.ctx.podDir, `kubeconfig-${container.name}`);
    const namespace = await readFile(path.join(dir, 'namespace'), 'utf8').catch(
      () => this.pod.metadata?.namespace,
    );
    const server = `https://${this.ctx.baseEnv.KUBERNETES_SERVICE_HOST}:${this.ctx.baseEnv.KUBERNETES_SERVICE_PORT}`;
    const doc = buildKubeconfig({
      server,
      caCertFile: path.join(dir, 'ca.crt'),
      userName: this.pod.spec?.serviceAccountName ?? 'default',
      credentials: { tokenFile: path.join(dir, 'token') },
      namespace,
      contextName: 'in-cluster',
    });
    await writeFile(file, stringify(doc), { mode: 0o600 });
    return file;
  }

  private async terminationMessage(
    container: V1Container,
    file: string,
    proc: ManagedProcess,
    exitCode: number,
  ): Promise<string | undefined> {
    let message = '';
    try {
      message = (await readFile(file, 'utf8')).slice(0, MAX_TERMINATION_MESSAGE_BYTES);
    } catch {
      // no file: no message
    }
    if (!message && exitCode !== 0 && container.terminationMessagePolicy === 'FallbackToLogsOnError') {
      message = tailFile(proc.stdoutFile, 80).slice(-2048);
    }
    return message || undefined;
  }
}
