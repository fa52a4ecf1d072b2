/**
 * CIFAR-10 binary batches: records of 1 label byte + 3072 bytes (3x32x32, channel-planar), in
 * data_batch_1..5.bin (train) and test_batch.bin (test). Converted to HWC on load.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { JclError } from '../util/errors.ts';
import { DenseDataset } from './dataset.ts';

const RECORD = 1 + 3072;
/** The published CIFAR-10 statistics (as used by most SSL codebases). */
const MEAN = [0.4914, 0.4822, 0.4465];
const STD = [0.247, 0.2435, 0.2616];

export function loadCifar10(dir: string, split: 'train' | 'test'): DenseDataset {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new JclError('not_found', `data.path: CIFAR-10 directory not found, got ${dir}`);
  const files = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  const chunks: Uint8Array[] = [];
  for (const f of files) {
    const p = join(dir, f);
    if (!existsSync(p))
      throw new JclError('not_found', `data.path: ${p} missing (expected the CIFAR-10 binary version)`);
    const buf = new Uint8Array(readFileSync(p));
    if (buf.length % RECORD !== 0 || buf.length === 0) {
      throw new JclError(
        'invalid_data',
        `data.path: ${p} has ${buf.length} bytes, not a multiple of the ${RECORD}-byte record (truncated?)`,
      );
    }
    chunks.push(buf);
  }
  const n = chunks.reduce((a, c) => a + c.length / RECORD, 0);
  const pixels = new Uint8Array(n * 3072);
  const labels = new Uint8Array(n);
  let i = 0;
  for (const buf of chunks) {
    for (let r = 0; r < buf.length / RECORD; r++, i++) {
      const rec = buf.subarray(r * RECORD, (r + 1) * RECORD);
      if (rec[0] > 9)
        throw new JclError('invalid_data', `data.path: record ${i} has label ${rec[0]}, expected 0-9`);
      labels[i] = rec[0];
      for (let p = 0; p < 1024; p++)
        for (let c = 0; c < 3; c++) pixels[i * 3072 + p * 3 + c] = rec[1 + c * 1024 + p];
    }
  }
  return new DenseDataset(`cifar10-${split}`, pixels, labels, 32, 32, 3, 10, MEAN, STD);
}
