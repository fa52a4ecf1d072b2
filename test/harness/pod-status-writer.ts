/**
 * How the node harness writes pod status: one chain of writes per pod (a later status never overtakes an
 * earlier one), and the `pause()` fault of a node that stopped reporting (the latest status of each pod is
 * kept and written on resume).
 */
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { writePodStatus } from './kubelet-api.ts';
import { buildPodStatus, type PodRecord } from './pod-status.ts';
import { describeError } from './wait.ts';

/** Serialized, pausable pod status writes. */
export class PodStatusWriter {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly pendingWhilePaused = new Map<string, { pod: V1Pod; record: PodRecord }>();
  private pausedFlag = false;

  constructor(
    private readonly core: CoreV1Api,
    private readonly log: (message: string) => void,
  ) {}

  /** True between pause() and resume(). */
  get paused(): boolean {
    return this.pausedFlag;
  }

  /** Writes the status `record` describes (after the pod's earlier writes), or keeps it while paused. */
  publish(pod: V1Pod, record: PodRecord): void {
    const key = pod.metadata?.uid ?? '';
    if (this.pausedFlag) {
      this.pendingWhilePaused.set(key, { pod, record });
      return;
    }
    this.enqueue(key, pod, record);
  }

  /** Stops writing (statuses are kept). */
  pause(): void {
    this.pausedFlag = true;
  }

  /** Writes the latest kept status of every pod and writes as usual again. */
  resume(): void {
    this.pausedFlag = false;
    for (const [key, { pod, record }] of this.pendingWhilePaused) this.enqueue(key, pod, record);
    this.pendingWhilePaused.clear();
  }

  /** Resolves when the writes queued so far for the pod with this uid are done. */
  settled(uid: string): Promise<void> {
    return this.chains.get(uid) ?? Promise.resolve();
  }

  /** Resolves when every queued write is done. */
  async settleAll(): Promise<void> {
    await Promise.all(this.chains.values());
  }

  private enqueue(key: string, pod: V1Pod, record: PodRecord): void {
    const status = buildPodStatus(record, new Date());
    const next = this.settled(key)
      .then(() => writePodStatus(this.core, pod, status))
      .catch((err) => this.log(`status ${pod.metadata?.name}: ${describeError(err)}`));
    this.chains.set(key, next);
  }
}
