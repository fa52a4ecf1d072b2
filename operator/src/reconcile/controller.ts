/**
 * The reconcile loop: informer events → work queue (namespace/name) → `workers` concurrent reconciles.
 * A periodic resync re-queues every cached job (cheap: no API calls) so that time-based transitions
 * still happen if a requeue timer was lost; failures retry with per-key exponential backoff.
 */
import type { Logger } from 'pino';
import { describeError } from '../../../worker/src/util/errors.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import type { OperatorMetrics } from './metrics.ts';
import type { Reconciler } from './reconciler.ts';
import { WorkQueue } from './work-queue.ts';

export interface ControllerOptions {
  reconciler: Reconciler;
  listJobs: () => readonly JCLTrainingJob[];
  log: Logger;
  metrics?: OperatorMetrics;
  workers?: number;
  resyncMs?: number;
}

export class Controller {
  readonly queue = new WorkQueue({ baseDelayMs: 5, maxDelayMs: 60_000 });
  private loops: Promise<void>[] = [];
  private resync: NodeJS.Timeout | undefined;

  constructor(private readonly o: ControllerOptions) {}

  /** Queue a job key ("namespace/name"). */
  enqueue(key: string): void {
    this.queue.add(key);
    this.o.metrics?.queueDepth.set(this.queue.length);
  }

  jobDeleted(job: JCLTrainingJob): void {
    if (job.metadata?.uid) this.o.reconciler.forget(job.metadata.uid);
  }

  start(): void {
    for (const job of this.o.listJobs()) this.enqueue(`${job.metadata?.namespace}/${job.metadata?.name}`);
    const n = this.o.workers ?? 4;
    for (let i = 0; i < n; i++) this.loops.push(this.loop());
    const resyncMs = this.o.resyncMs ?? 60_000;
    this.resync = setInterval(() => {
      for (const job of this.o.listJobs()) this.enqueue(`${job.metadata?.namespace}/${job.metadata?.name}`);
    }, resyncMs);
    this.resync.unref();
  }

  /** Stop taking keys and wait for in-flight reconciles to finish (graceful shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.resync);
    this.queue.shutDown();
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    const { reconciler, log, metrics } = this.o;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      metrics?.queueDepth.set(this.queue.length);
      const [namespace, name] = splitKey(key);
      const started = performance.now();
      try {
        const res = await reconciler.reconcile(namespace, name);
        if (res.conflict) {
          this.queue.addRateLimited(key);
          metrics?.reconcileDuration.observe({ result: 'conflict' }, (performance.now() - started) / 1000);
        } else {
          this.queue.forget(key);
          if (res.requeueAfterMs !== undefined) this.queue.addAfter(key, res.requeueAfterMs);
          metrics?.reconcileDuration.observe({ result: 'success' }, (performance.now() - started) / 1000);
        }
      } catch (err) {
        const delay = this.queue.addRateLimited(key);
        metrics?.reconcileErrors.inc();
        metrics?.reconcileDuration.observe({ result: 'error' }, (performance.now() - started) / 1000);
        log.warn({ job: key, err: describeError(err), retryInMs: delay }, 'reconcile failed');
      } finally {
        this.queue.done(key);
      }
    }
  }
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}
