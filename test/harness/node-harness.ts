/**
 * The node harness plays the kubelet of one or more Nodes for the e2e tests: it registers Ready Nodes with
 * the allocatable cpu, memory and nvidia.com/gpu the plane's real kube-scheduler places pods against (or,
 * with `binder: 'harness'`, binds pending pods itself), runs the pods bound to its nodes as local processes
 * (pod-runner.ts), reports status like a kubelet, serves cluster DNS through a hosts file (hosts-file.ts,
 * pod-preload.cjs) and finishes graceful deletions. Fault injection: kill a pod's process, keep pods from
 * ever starting, pause all status updates (a node that stopped reporting).
 */
import { appendFileSync, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { buildHostsEntries, renderHosts, writeHostsFile, type DnsPod } from './hosts-file.ts';
import {
  annotateNamespace,
  bindPod,
  buildVolumeSources,
  confirmPodDeletion,
  loadReferencedData,
  postNodeStatus,
  registerNode,
} from './kubelet-api.ts';
import {
  DEFAULT_ALLOCATABLE,
  POOL_KEY,
  poolNamespaceAnnotations,
  poolTaint,
  type NodeReadiness,
} from './node-object.ts';
import type { NeverStartRule, NodeHarnessOptions } from './node-harness-options.ts';
import { podBaseEnv } from './pod-base-env.ts';
import { PodRunner } from './pod-runner.ts';
import { PodStatusWriter } from './pod-status-writer.ts';
import type { VolumeSources } from './pod-volumes.ts';
import { resolveCacheDir, RunRecordFile } from './run-registry.ts';
import { attachConflict, isSingleNode, podClaims } from './volume-attach.ts';
import { describeError, sleep } from './wait.ts';

export type { HarnessNode, NeverStartRule, NodeHarnessOptions } from './node-harness-options.ts';

/** A running fake kubelet. */
export class NodeHarness {
  /** The first node's name (the pool name). */
  readonly nodeName: string;
  /** Every node of this harness. */
  readonly nodeNames: readonly string[];
  readonly rootDir: string;
  readonly hostsFile: string;
  readonly logFile: string;
  private readonly core: CoreV1Api;
  private readonly sources: VolumeSources;
  private readonly nodes: {
    name: string;
    allocatable: Record<string, string>;
    labels: Record<string, string>;
  }[];
  private readonly pool: string | undefined;
  private readonly runners = new Map<string, PodRunner>();
  private readonly deleting = new Set<string>();
  private readonly neverStart: NeverStartRule[] = [];
  /** Pods waiting for a ReadWriteOnce claim attached to another node (volume-attach.ts), by uid. */
  private readonly attachHeld = new Map<string, PodRunner>();
  /** "<namespace>/<claim>" -> whether only one node may attach it (read once from the claim). */
  private readonly singleNodeClaims = new Map<string, boolean>();
  private readonly statuses: PodStatusWriter;
  private readonly registry: RunRecordFile;
  private readonly ipPrefix = `127.${2 + Math.floor(Math.random() * 250)}`;
  private nextIp = 0;
  private readiness: NodeReadiness = 'True';
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private lastHosts = '';
  private lastHeartbeat = 0;
  private services: V1Service[] = [];
  private lastServiceList = 0;

  private constructor(
    private readonly opts: NodeHarnessOptions,
    rootDir: string,
  ) {
    this.nodeName = opts.nodes?.[0]?.name ?? opts.nodeName ?? 'jcl-e2e-node';
    const binder = opts.binder ?? 'scheduler';
    this.pool = opts.namespaces && binder === 'scheduler' ? this.nodeName : undefined;
    const base = { ...DEFAULT_ALLOCATABLE, ...opts.allocatable };
    this.nodes = (opts.nodes ?? [{ name: this.nodeName }]).map((n) => ({
      name: n.name,
      allocatable: { ...base, ...n.allocatable },
      labels: { ...opts.labels, ...n.labels, ...(this.pool ? { [POOL_KEY]: this.pool } : {}) },
    }));
    this.nodeNames = this.nodes.map((n) => n.name);
    this.rootDir = rootDir;
    this.hostsFile = path.join(rootDir, 'hosts');
    this.logFile = path.join(rootDir, 'node-harness.log');
    this.core = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.sources = buildVolumeSources(this.core);
    this.statuses = new PodStatusWriter(this.core, (m) => this.log(m));
    this.registry = new RunRecordFile(opts.cacheDir ?? resolveCacheDir(), `node-${path.basename(rootDir)}`, {
      rootDir: opts.rootDir ? undefined : rootDir,
    });
  }

  /** Annotates the namespaces (pool), registers the Nodes and starts the sync loop. */
  static async start(opts: NodeHarnessOptions): Promise<NodeHarness> {
    const rootDir = opts.rootDir ?? (await mkdtemp(path.join(os.tmpdir(), 'jcl-node-')));
    await mkdir(path.join(rootDir, 'pods'), { recursive: true });
    await mkdir(path.join(rootDir, 'shared'), { recursive: true });
    const harness = new NodeHarness(opts, rootDir);
    writeHostsFile(harness.hostsFile, renderHosts(new Map()));
    const pool = harness.pool;
    if (pool) {
      for (const ns of opts.namespaces ?? [])
        await annotateNamespace(harness.core, ns, poolNamespaceAnnotations(pool));
    }
    for (const n of harness.nodes)
      await registerNode(harness.core, n.name, n.allocatable, n.labels, pool ? [poolTaint(pool)] : []);
    harness.lastHeartbeat = Date.now();
    harness.loop = harness.runLoop();
    return harness;
  }

  /**
   * Local directory of the newest pod with this name (volumes/, logs/, termination-log-<container>). One
   * directory per pod uid: a re-created pod of the same name starts with fresh emptyDirs, as on a kubelet.
   */
  podDir(namespace: string, name: string): string {
    const runner = this.findRunner(namespace, name);
    return runner ? runner.dir : path.join(this.rootDir, 'pods', namespace, name);
  }

  /** The node a pod of this harness was bound to (undefined before it starts here). */
  podNode(namespace: string, name: string): string | undefined {
    return this.findRunner(namespace, name)?.pod.spec?.nodeName;
  }

  /** The loopback address given to a pod, once it runs. */
  podIP(namespace: string, name: string): string | undefined {
    return this.findRunner(namespace, name)?.record.podIP;
  }

  /** Captured output files of a pod's container (first container by default), for debugging. */
  podLogFiles(namespace: string, name: string, container?: string): { stdout: string; stderr: string } {
    const runner = this.findRunner(namespace, name);
    const c = container ?? runner?.pod.spec?.containers[0]?.name ?? 'main';
    const restarts = runner?.record.containers.find((r) => r.name === c)?.restartCount ?? 0;
    const base = path.join(this.podDir(namespace, name), 'logs', `${c}-${restarts}`);
    return { stdout: `${base}.stdout.log`, stderr: `${base}.stderr.log` };
  }

  /** Fault: kills a pod's container process. `reason` overrides the reported reason (e.g. 'OOMKilled'). */
  killPod(
    namespace: string,
    name: string,
    opts: { signal?: NodeJS.Signals; container?: string; reason?: string } = {},
  ): void {
    const runner = this.findRunner(namespace, name);
    if (!runner || !runner.kill(opts.signal ?? 'SIGKILL', opts.container, opts.reason)) {
      throw new Error(`killPod: pod ${namespace}/${name} has no running process on node ${this.nodeName}`);
    }
  }

  /** Fault: pods matching `match` (a pod name or a predicate) are bound but never start. */
  preventStart(match: string | ((pod: V1Pod) => boolean), reason = 'ImagePullBackOff'): void {
    this.neverStart.push({
      match: typeof match === 'string' ? (p) => p.metadata?.name === match : match,
      reason,
    });
  }

  /** Fault: the node stops reporting (no pod status writes, no heartbeats) until resume(). Processes keep running. */
  pause(): void {
    this.statuses.pause();
  }

  /**
   * Fault: posts the Node's Ready condition as `ready` (False/Unknown: a failing node) right away and on every
   * heartbeat until set back to 'True'. There is no node-lifecycle controller, so nothing is evicted.
   */
  async setNodeReady(ready: NodeReadiness): Promise<void> {
    this.readiness = ready;
    await this.postStatuses();
  }

  private async postStatuses(): Promise<void> {
    for (const n of this.nodes) await postNodeStatus(this.core, n.name, n.allocatable, this.readiness);
    this.lastHeartbeat = Date.now();
  }

  /** Ends pause(): the latest status of every pod is written. */
  resume(): void {
    this.statuses.resume();
  }

  /** Stops every pod process, deletes the Nodes and removes the temp root (unless it was given). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.loop;
    await Promise.all(
      [...this.runners.values()].map((r) => r.terminate(Math.min(this.opts.maxGraceMs ?? 10_000, 2_000))),
    );
    await this.statuses.settleAll();
    for (const name of this.nodeNames) await this.core.deleteNode({ name }).catch(() => undefined);
    this.registry.close();
    if (!this.opts.rootDir) await rm(this.rootDir, { recursive: true, force: true });
  }

  private findRunner(namespace: string, name: string): PodRunner | undefined {
    // Newest first: runners are kept in creation order.
    return [...this.runners.values()]
      .reverse()
      .find((r) => r.pod.metadata?.namespace === namespace && r.pod.metadata?.name === name);
  }

  private log(message: string): void {
    appendFileSync(this.logFile, `${new Date().toISOString()} ${message}\n`);
  }

  private async runLoop(): Promise<void> {
    const interval = this.opts.pollIntervalMs ?? 250;
    while (!this.stopped) {
      try {
        await this.syncOnce();
      } catch (err) {
        this.log(`sync failed: ${describeError(err)}`);
      }
      await sleep(interval);
    }
  }

  private async listPods(): Promise<V1Pod[]> {
    if (!this.opts.namespaces) return (await this.core.listPodForAllNamespaces()).items;
    const lists = await Promise.all(
      this.opts.namespaces.map((namespace) => this.core.listNamespacedPod({ namespace })),
    );
    return lists.flatMap((l) => l.items);
  }

  private async syncOnce(): Promise<void> {
    if (!this.statuses.paused && Date.now() - this.lastHeartbeat > 10_000) await this.postStatuses();
    const pods = await this.listPods();
    const seen = new Set<string>();
    // Live pods of this harness's nodes that have their volumes (started, not finished, not held).
    const holders = pods.filter(
      (p) =>
        this.ownsNode(p.spec?.nodeName) &&
        this.runners.has(p.metadata?.uid ?? '') &&
        !this.attachHeld.has(p.metadata?.uid ?? '') &&
        !['Succeeded', 'Failed'].includes(p.status?.phase ?? ''),
    );
    await this.readClaimModes(pods.filter((p) => this.ownsNode(p.spec?.nodeName)));
    for (const pod of pods) {
      const uid = pod.metadata?.uid ?? '';
      seen.add(uid);
      if (pod.metadata?.deletionTimestamp) {
        if (this.ownsNode(pod.spec?.nodeName)) this.finishDeletion(pod);
      } else if (!pod.spec?.nodeName) {
        if (
          this.opts.binder === 'harness' &&
          (pod.spec?.schedulerName ?? 'default-scheduler') === 'default-scheduler'
        ) {
          // 409: another harness (or a user) bound it first.
          await bindPod(this.core, pod, this.nodeName).then(
            () => this.log(`bound ${pod.metadata?.namespace}/${pod.metadata?.name}`),
            (err) => this.log(`bind ${pod.metadata?.name}: ${describeError(err)}`),
          );
        }
      } else if (this.ownsNode(pod.spec.nodeName) && !this.runners.has(uid)) {
        const phase = pod.status?.phase;
        if (phase !== 'Succeeded' && phase !== 'Failed') this.startPod(pod, holders);
      } else if (this.attachHeld.has(uid) && !this.attachConflictOf(pod, holders)) {
        const runner = this.attachHeld.get(uid)!;
        this.attachHeld.delete(uid);
        holders.push(pod);
        this.runPod(pod, runner);
      }
    }
    // Pods removed without a graceful deletion (force delete, namespace purge) lose their processes at once.
    for (const [uid, runner] of this.runners) {
      if (!seen.has(uid) && !this.deleting.has(uid)) {
        this.deleting.add(uid);
        void runner.terminate(0).finally(() => {
          this.runners.delete(uid);
          this.attachHeld.delete(uid);
        });
      }
    }
    await this.refreshHosts();
  }

  private ownsNode(nodeName: string | undefined): boolean {
    return nodeName !== undefined && this.nodeNames.includes(nodeName);
  }

  /** Reads the access modes of the claims these pods mount that were not read yet. */
  private async readClaimModes(pods: V1Pod[]): Promise<void> {
    for (const claim of new Set(pods.flatMap(podClaims))) {
      if (this.singleNodeClaims.has(claim)) continue;
      const [namespace, name] = claim.split('/');
      await this.core.readNamespacedPersistentVolumeClaim({ namespace, name }).then(
        (pvc) => this.singleNodeClaims.set(claim, isSingleNode(pvc.spec?.accessModes)),
        () => undefined, // not there (yet): the pod's volumes wait for it (pod-runner)
      );
    }
  }

  private attachConflictOf(pod: V1Pod, holders: readonly V1Pod[]): string | null {
    return attachConflict(pod, holders, (claim) => this.singleNodeClaims.get(claim) === true);
  }

  private startPod(pod: V1Pod, holders: V1Pod[]): void {
    const uid = pod.metadata?.uid ?? '';
    const ns = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    const n = this.nextIp++;
    const podIP = `${this.ipPrefix}.${Math.floor(n / 250)}.${2 + (n % 250)}`;
    const podDir = path.join(this.rootDir, 'pods', ns, name, uid.slice(0, 8));
    const runner = new PodRunner(pod, {
      podDir,
      sharedDir: path.join(this.rootDir, 'shared'),
      podIP,
      hostIP: '127.0.0.1',
      sources: this.sources,
      loadReferencedData: (p) => loadReferencedData(this.sources, p),
      baseEnv: podBaseEnv({
        pod,
        podIP,
        podDir,
        server: this.opts.kubeConfig.getCurrentCluster()?.server ?? 'https://127.0.0.1:6443',
        hostsFile: this.hostsFile,
        extraEnv: this.opts.extraEnv,
      }),
      entrypoints: this.opts.entrypoints ?? {},
      commandMap: this.opts.commandMap ?? {},
      restartBackoffMs: this.opts.restartBackoffMs ?? 1_000,
      registry: this.registry,
      publish: (p, record) => this.statuses.publish(p, record),
    });
    this.runners.set(uid, runner);
    const rule = this.neverStart.find((r) => r.match(pod));
    if (rule) {
      runner.holdWaiting(rule.reason, `node harness: pod held by preventStart (${rule.reason})`);
      return;
    }
    const conflict = this.attachConflictOf(pod, holders);
    if (conflict) {
      this.attachHeld.set(uid, runner);
      runner.holdWaiting('ContainerCreating', conflict);
      this.log(`holding ${ns}/${name}: ${conflict}`);
      return;
    }
    holders.push(pod);
    this.runPod(pod, runner);
  }

  private runPod(pod: V1Pod, runner: PodRunner): void {
    const { namespace: ns, name } = pod.metadata ?? {};
    this.log(`starting ${ns}/${name}`);
    runner.run().catch((err) => this.log(`pod ${ns}/${name} runner failed: ${describeError(err)}`));
  }

  private finishDeletion(pod: V1Pod): void {
    const uid = pod.metadata?.uid ?? '';
    if (this.deleting.has(uid)) return;
    this.deleting.add(uid);
    const graceMs = Math.min(
      (pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000,
      this.opts.maxGraceMs ?? 10_000,
    );
    const runner = this.runners.get(uid);
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? 'default';
    void (async () => {
      if (runner) {
        await runner.terminate(graceMs);
        await this.statuses.settled(uid);
      }
      // The kubelet's final delete (grace 0) removes the object once containers are gone.
      await confirmPodDeletion(this.core, pod).catch((err) =>
        this.log(`final delete ${namespace}/${name}: ${describeError(err)}`),
      );
      this.runners.delete(uid);
      this.attachHeld.delete(uid);
      this.log(`deleted ${namespace}/${name}`);
    })();
  }

  private async refreshHosts(): Promise<void> {
    if (Date.now() - this.lastServiceList > 1_000) {
      const namespaces = this.opts.namespaces;
      this.services = namespaces
        ? (
            await Promise.all(namespaces.map((namespace) => this.core.listNamespacedService({ namespace })))
          ).flatMap((l) => l.items)
        : (await this.core.listServiceForAllNamespaces()).items;
      this.lastServiceList = Date.now();
    }
    const pods: DnsPod[] = [...this.runners.values()]
      .filter((r) => r.record.podIP && (r.record.phase === 'Running' || r.record.phase === 'Pending'))
      .map((r) => ({ pod: r.pod, ip: r.record.podIP as string }));
    const content = renderHosts(buildHostsEntries(pods, this.services));
    if (content !== this.lastHosts && existsSync(this.rootDir)) {
      writeHostsFile(this.hostsFile, content);
      this.lastHosts = content;
    }
  }
}
