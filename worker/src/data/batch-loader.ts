/**
 * Keeps the next `depth` crop batches in preparation while the current step trains. With depth > 0 the
 * crops are made on a worker thread (the training thread is busy in TensorFlow.js), else inline.
 * Either way the bytes are identical: crops depend only on (seed, epoch, image index).
 */
import { Worker } from 'node:worker_threads';
import type { TrainingConfig } from '../config/schema.ts';
import type { ImageDataset } from './dataset.ts';
import { makeCropBatch, type CropBatch } from './make-batch.ts';

export interface BatchRequest {
  epoch: number;
  indices: Int32Array;
}

export class BatchLoader {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (b: CropBatch) => void; reject: (e: Error) => void }
  >();
  private readonly inflight: { key: string; promise: Promise<CropBatch> }[] = [];
  /** Time the training thread spent waiting for a batch that was not ready (ms). */
  waitMs = 0;

  constructor(
    private readonly ds: ImageDataset,
    private readonly opts: { data: TrainingConfig['data']; seed: number; m: number },
  ) {
    if (opts.data.prefetchBatches > 0) {
      this.worker = new Worker(new URL('./batch-worker-entry.js', import.meta.url), {
        workerData: { data: opts.data, seed: opts.seed, m: opts.m },
      });
      this.worker.on('message', (msg: { id: number; batch?: CropBatch; error?: string }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`batch worker: ${msg.error}`));
        else p.resolve(msg.batch!);
      });
      this.worker.on('error', (err: Error) => {
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
    }
  }

  /**
   * Returns the batch for `req`, and starts preparing `upcoming` (the next requests in order).
   */
  async next(req: BatchRequest, upcoming: BatchRequest[]): Promise<CropBatch> {
    if (!this.worker)
      return makeCropBatch(this.ds, req.indices, {
        epoch: req.epoch,
        seed: this.opts.seed,
        m: this.opts.m,
        size: this.opts.data.imageSize,
        augment: this.opts.data.augment,
      });
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

  private request(req: BatchRequest): Promise<CropBatch> {
    const id = this.nextId++;
    const promise = new Promise<CropBatch>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    promise.catch(() => undefined); // rejection is observed by whoever awaits it
    this.worker!.postMessage({ id, epoch: req.epoch, indices: req.indices });
    return promise;
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = null;
  }
}

function keyOf(r: BatchRequest): string {
  return `${r.epoch}:${r.indices[0]}:${r.indices.length}:${r.indices[r.indices.length - 1]}`;
}
