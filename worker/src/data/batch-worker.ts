/** Worker thread that makes crop batches off the training thread (see batch-loader.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import type { TrainingConfig } from '../config/schema.ts';
import { makeCropBatch } from './make-batch.ts';
import { openDataset } from './open-dataset.ts';

interface Init {
  data: TrainingConfig['data'];
  seed: number;
  m: number;
}

const init = workerData as Init;
const ds = openDataset(init.data, 'train', init.seed);
parentPort!.on('message', (msg: { id: number; epoch: number; indices: Int32Array }) => {
  try {
    const b = makeCropBatch(ds, msg.indices, {
      epoch: msg.epoch,
      seed: init.seed,
      m: init.m,
      size: init.data.imageSize,
      augment: init.data.augment,
    });
    parentPort!.postMessage({ id: msg.id, batch: b }, [
      b.query.buffer,
      b.keys.buffer,
      b.labels.buffer,
    ] as ArrayBuffer[]);
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  }
});
