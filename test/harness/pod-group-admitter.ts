/**
 * A stand-in for Kueue's pod-group admission, for e2e tests of the contract the operator relies on (it is
 * NOT Kueue; docs/SCHEDULING.md says what real Kueue adds). Kueue's plain-pod integration
 * (kueue.sigs.k8s.io/docs/tasks/run/plain_pods) admits a group of pods labelled
 * `kueue.x-k8s.io/pod-group-name` once all `kueue.x-k8s.io/pod-group-total-count` pods exist and the
 * group's requests fit the ClusterQueue's quota, and then lifts the `kueue.x-k8s.io/admission` scheduling
 * gate from every pod of the group; the real kube-scheduler places them afterwards. This does the same
 * for one flat quota (e.g. `{ 'nvidia.com/gpu': 6 }`), first come first served by the group's oldest pod.
 */
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { describeError, sleep } from './wait.ts';

export const GROUP_LABEL = 'kueue.x-k8s.io/pod-group-name';
export const QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';
export const TOTAL_ANNOTATION = 'kueue.x-k8s.io/pod-group-total-count';
export const ADMISSION_GATE = 'kueue.x-k8s.io/admission';

/** Options of {@link PodGroupAdmitter.start}. */
export interface PodGroupAdmitterOptions {
  kubeConfig: KubeConfig;
  namespaces: string[];
  /** Nominal quota per resource; resources not listed are not limited. */
  quota: Record<string, number>;
  /** Only groups whose pods carry this queue-name label. Default: any queue. */
  queue?: string;
  pollIntervalMs?: number;
}

/** Sum of the containers' requests (limits where no request is given, as the apiserver defaults them). */
export function podRequests(pod: V1Pod, resources: readonly string[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(resources.map((r) => [r, 0]));
  for (const c of pod.spec?.containers ?? []) {
    for (const r of resources) {
      const q = c.resources?.requests?.[r] ?? c.resources?.limits?.[r];
      if (q !== undefined) out[r] += Number(q);
    }
  }
  return out;
}

const gated = (p: V1Pod): boolean => (p.spec?.schedulingGates ?? []).some((g) => g.name === ADMISSION_GATE);
const finished = (p: V1Pod): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

/** One admission decision: which groups (namespace/name) to admit now, given all pods. Pure. */
export function decideAdmissions(
  pods: readonly V1Pod[],
  quota: Record<string, number>,
  queue?: string,
): string[] {
  const resources = Object.keys(quota);
  const inQueue = pods.filter(
    (p) =>
      p.metadata?.labels?.[GROUP_LABEL] &&
      (queue === undefined || p.metadata.labels[QUEUE_LABEL] === queue) &&
      !p.metadata.deletionTimestamp,
  );
  const key = (p: V1Pod) => `${p.metadata?.namespace}/${p.metadata?.labels?.[GROUP_LABEL]}`;
  const used: Record<string, number> = Object.fromEntries(resources.map((r) => [r, 0]));
  for (const p of inQueue.filter((x) => !gated(x) && !finished(x))) {
    const req = podRequests(p, resources);
    for (const r of resources) used[r] += req[r];
  }
  const groups = new Map<string, V1Pod[]>();
  for (const p of inQueue.filter((x) => !finished(x))) groups.set(key(p), [...(groups.get(key(p)) ?? []), p]);
  const oldest = (ps: V1Pod[]) =>
    Math.min(...ps.map((p) => new Date(p.metadata?.creationTimestamp ?? 0).getTime()));
  const admitted: string[] = [];
  const waiting = [...groups].filter(([, members]) => members.some(gated));
  for (const [name, members] of waiting.sort((a, b) => oldest(a[1]) - oldest(b[1]))) {
    if (!members.every(gated)) {
      admitted.push(name); // admitted earlier, some gates still to lift (its usage is already counted)
      continue;
    }
    const total = Number(members[0].metadata?.annotations?.[TOTAL_ANNOTATION] ?? members.length);
    if (members.length < total) continue; // Kueue waits for the whole group
    const need: Record<string, number> = Object.fromEntries(resources.map((r) => [r, 0]));
    for (const p of members) {
      const req = podRequests(p, resources);
      for (const r of resources) need[r] += req[r];
    }
    if (resources.every((r) => used[r] + need[r] <= quota[r])) {
      for (const r of resources) used[r] += need[r];
      admitted.push(name);
    } else {
      break; // strict FIFO, like a StrictFIFO ClusterQueue: a later group does not jump the queue
    }
  }
  return admitted;
}

/** A running admitter; `admissions` records each admitted group in order. */
export class PodGroupAdmitter {
  readonly admissions: { group: string; at: Date }[] = [];
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly core: CoreV1Api;

  private constructor(private readonly opts: PodGroupAdmitterOptions) {
    this.core = opts.kubeConfig.makeApiClient(CoreV1Api);
  }

  static start(opts: PodGroupAdmitterOptions): PodGroupAdmitter {
    const a = new PodGroupAdmitter(opts);
    a.loop = a.run();
    return a;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.syncOnce();
      } catch (err) {
        console.error(`pod-group admitter: ${describeError(err)}`);
      }
      await sleep(this.opts.pollIntervalMs ?? 300);
    }
  }

  private async syncOnce(): Promise<void> {
    const lists = await Promise.all(
      this.opts.namespaces.map((namespace) => this.core.listNamespacedPod({ namespace })),
    );
    const pods = lists.flatMap((l) => l.items);
    for (const group of decideAdmissions(pods, this.opts.quota, this.opts.queue)) {
      const [namespace, name] = group.split('/');
      for (const pod of pods.filter(
        (p) => p.metadata?.namespace === namespace && p.metadata?.labels?.[GROUP_LABEL] === name && gated(p),
      )) {
        // Removing a scheduling gate is the one spec change the apiserver allows on a created pod.
        pod.spec!.schedulingGates = (pod.spec?.schedulingGates ?? []).filter(
          (g) => g.name !== ADMISSION_GATE,
        );
        await this.core.replaceNamespacedPod({ name: pod.metadata?.name ?? '', namespace, body: pod });
      }
      this.admissions.push({ group, at: new Date() });
    }
  }
}
