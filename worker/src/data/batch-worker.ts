/**
 * Loader worker thread (see loader-pool.ts): rebuilds the dataset from its shared description, then
 * for each job makes the crops of the positions it claims from the job's shared counter, writing them
 * straight into the job's shared batch arrays. Jobs run one after the other, in arrival order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { JclError } from '../util/errors.ts';
import type { DatasetDescriptor } from './dataset-transfer.ts';
import { openDescribed } from './dataset-transfer.ts';
import { fillCrops, type CropOptions, type CropTarget } from './make-batch.ts';

/** What the pool posts for one batch. */
export interface LoaderJob {
  id: number;
  indices: Int32Array;
  opts: CropOptions;
  target: CropTarget;
  /** [1] Int32 in shared memory: the next position to claim. */
  counter: Int32Array;
}

/** What a worker answers for a job. */
export interface LoaderReply {
  id: number;
  skipped?: number;
  error?: { message: string; code?: string };
}

const ds = openDescribed((workerData as { dataset: DatasetDescriptor }).dataset);
let queue: Promise<void> = Promise.resolve();
parentPort!.on('message', (job: LoaderJob) => {
  queue = queue.then(async () => {
    try {
      const claim = () => Atomics.add(job.counter, 0, 1);
      const skipped = await fillCrops(ds, job.indices, job.opts, job.target, claim);
      parentPort!.postMessage({ id: job.id, skipped } satisfies LoaderReply);
    } catch (err) {
      const e = err as Error;
      parentPort!.postMessage({
        id: job.id,
        error: { message: e.message, code: err instanceof JclError ? err.code : undefined },
      } satisfies LoaderReply);
    }
  });
});
