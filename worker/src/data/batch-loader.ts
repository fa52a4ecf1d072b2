/**
 * Keeps the next `data.prefetchBatches` crop batches in preparation while the current step trains,
 * made by a pool of `data.loaderWorkers` threads (0: one per CPU this process may use), the training
 * thread being busy in TensorFlow.js. With prefetchBatches = 0 the crops are made inline. Either way
 * the bytes are identical, whatever the number of threads: crops depend only on (seed, epoch, index).
 * Batches are returned in the order asked for.
 */
import type { TrainingConfig } from '../config/schema.ts';
import { cpuBudget } from '../util/cpu-budget.ts';
import type { ImageDataset } from './dataset.ts';
import { describeDataset } from './dataset-transfer.ts';
import { LoaderPool, DEFAULT_WORKER_URL } from './loader-pool.ts';
import { makeCropBatch, type CropBatch, type CropOptions } from './make-batch.ts';

export interface BatchRequest {
  epoch: number;
  indices: Int32Array;
}

/** Loader threads for `data.loaderWorkers` (0: the whole CPUs this process may use, at least 1). */
export function resolveLoaderWorkers(configured: number, cpus: number = cpuBudget()): number {
  return configured > 0 ? configured : Math.max(1, Math.floor(cpus));
}

export class BatchLoader {
  private pool: LoaderPool | null = null;
  private readonly inflight: { key: string; promise: Promise<CropBatch> }[] = [];
  /** Time the training thread spent waiting for a batch that was not ready (ms). */
  waitMs = 0;
  /** Undecodable files skipped (replaced) in the batches returned so far. */
  skipped = 0;

  constructor(
    private readonly ds: ImageDataset,
    private readonly opts: {
      data: TrainingConfig['data'];
      seed: number;
      m: number;
      /** Test seam: the worker script (default batch-worker-entry.js). */
      workerUrl?: URL;
      log?: (msg: string, fields: Record<string, unknown>) => void;
    },
  ) {
    if (opts.data.prefetchBatches > 0) {
      const workers = resolveLoaderWorkers(opts.data.loaderWorkers);
      this.pool = new LoaderPool(
        describeDataset(ds, opts.data.skipBadImages),
        ds.channels,
        workers,
        opts.workerUrl ?? DEFAULT_WORKER_URL,
      );
    }
  }

  /** Loader threads in use (0: inline). */
  get workers(): number {
    return this.pool?.size ?? 0;
  }

  /** Returns the batch for `req`, and starts preparing `upcoming` (the next requests in order). */
  async next(req: BatchRequest, upcoming: BatchRequest[]): Promise<CropBatch> {
    const batch = await this.take(req, upcoming);
    if (batch.skipped > 0) {
      this.skipped += batch.skipped;
      this.opts.log?.('skipped undecodable images', { batch: batch.skipped, total: this.skipped });
    }
    return batch;
  }

  private async take(req: BatchRequest, upcoming: BatchRequest[]): Promise<CropBatch> {
    if (!this.pool) return makeCropBatch(this.ds, req.indices, this.cropOptions(req.epoch));
    const key = keyOf(req);
    let slot = this.inflight.findIndex((f) => f.key === key);
    if (slot < 0) {
      this.inflight.length = 0; // out of order (e.g. after resume): drop stale prefetches
      this.inflight.push({ key, promise: this.request(req) });
      slot = 0;
    }
    const promise = this.inflight[slot].promise;
    this.inflight.splice(0, slot + 1);
    for (const u of upcoming.slice(0, this.opts.data.prefetchBatches)) {
      if (!this.inflight.some((f) => f.key === keyOf(u)))
        this.inflight.push({ key: keyOf(u), promise: this.request(u) });
    }
    const t0 = performance.now();
    const batch = await promise;
    this.waitMs += performance.now() - t0;
    return batch;
  }

  private cropOptions(epoch: number): CropOptions {
    return {
      epoch,
      seed: this.opts.seed,
      m: this.opts.m,
      size: this.opts.data.imageSize,
      augment: this.opts.data.augment,
    };
  }

  private request(req: BatchRequest): Promise<CropBatch> {
    const promise = this.pool!.run(req.indices, this.cropOptions(req.epoch));
    promise.catch(() => undefined); // rejection is observed by whoever awaits it
    return promise;
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = null;
  }
}

function keyOf(r: BatchRequest): string {
  return `${r.epoch}:${r.indices[0]}:${r.indices.length}:${r.indices[r.indices.length - 1]}`;
}
