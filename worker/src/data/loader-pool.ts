/**
 * A pool of loader worker threads (like DataLoader's num_workers) that make crop batches together:
 * every job goes to every worker, and each takes the next image position from a shared counter, so the
 * threads stay busy whatever the images cost, and write their crops straight into the batch's shared
 * arrays. Which thread makes which crop does not matter: a crop depends only on (seed, epoch, index).
 * A worker that dies fails every pending and later job with an error saying which and why; nothing
 * waits for it.
 */
import { Worker } from 'node:worker_threads';
import { JclError, type JclErrorCode } from '../util/errors.ts';
import type { LoaderJob, LoaderReply } from './batch-worker.ts';
import type { DatasetDescriptor } from './dataset-transfer.ts';
import { allocCropBatch, type CropBatch, type CropOptions } from './make-batch.ts';

interface Pending {
  batch: CropBatch;
  waiting: number;
  skipped: number;
  error?: Error;
  resolve: (b: CropBatch) => void;
  reject: (e: Error) => void;
}

/** The script a worker runs (the default registers tsx, then runs batch-worker.ts). */
export const DEFAULT_WORKER_URL = new URL('./batch-worker-entry.js', import.meta.url);

export class LoaderPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private broken: Error | null = null;
  private closing = false;

  constructor(
    dataset: DatasetDescriptor,
    private readonly channels: number,
    readonly size: number,
    workerUrl: URL = DEFAULT_WORKER_URL,
  ) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`data.loaderWorkers: expected an integer >= 1, got ${size}`);
    for (let w = 0; w < size; w++) {
      const worker = new Worker(workerUrl, { workerData: { dataset } });
      worker.on('message', (r: LoaderReply) => this.onReply(r));
      worker.on('error', (err: Error) => this.fail(w, `it threw ${err.message}`, err));
      worker.on('messageerror', (err: Error) =>
        this.fail(w, `a message could not be read: ${err.message}`, err),
      );
      worker.on('exit', (code: number) => {
        if (!this.closing) this.fail(w, `it exited with code ${code}`);
      });
      this.workers.push(worker);
    }
  }

  /** Makes the crops of `indices` on all workers; resolves when every worker is done with it. */
  run(indices: Int32Array, opts: CropOptions): Promise<CropBatch> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    const batch = allocCropBatch(indices.length, opts.m, opts.size, this.channels, true);
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const promise = new Promise<CropBatch>((resolve, reject) =>
      this.pending.set(id, { batch, waiting: this.workers.length, skipped: 0, resolve, reject }),
    );
    const job: LoaderJob = {
      id,
      indices,
      opts,
      target: { query: batch.query, keys: batch.keys, labels: batch.labels },
      counter,
    };
    for (const w of this.workers) w.postMessage(job);
    return promise;
  }

  private onReply(r: LoaderReply): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    if (r.error && !p.error) {
      p.error = new JclError((r.error.code as JclErrorCode | undefined) ?? 'internal', r.error.message);
    }
    p.skipped += r.skipped ?? 0;
    if (--p.waiting > 0) return;
    this.pending.delete(r.id);
    if (p.error) p.reject(p.error);
    else p.resolve({ ...p.batch, skipped: p.skipped });
  }

  private fail(w: number, why: string, cause?: Error): void {
    if (this.broken) return;
    this.broken = new JclError(
      'internal',
      `data loader: worker thread ${w + 1} of ${this.workers.length} died (${why}) with ${this.pending.size} batch(es) pending; ` +
        'if it ran out of memory, lower data.prefetchBatches or data.loaderWorkers',
      { cause },
    );
    for (const p of this.pending.values()) p.reject(this.broken);
    this.pending.clear();
    void this.close();
  }

  /** Stops every worker; pending jobs are dropped. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
