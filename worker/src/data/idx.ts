/**
 * IDX files (MNIST / Fashion-MNIST): big-endian header with magic 0x0000 08 <ndim>, dims, then uint8
 * data. Plain or .gz. A truncated or mismatched file is an error, never a silent short dataset.
 */
import { join } from 'node:path';
import { JclError } from '../util/errors.ts';
import { DenseDataset, channelStats } from './dataset.ts';
import { readMaybeGz } from './read-file.ts';

export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

/** Parses one IDX file into its dimensions and data. */
export function parseIdx(bytes: Uint8Array, source: string): { dims: number[]; data: Uint8Array } {
  if (bytes.length < 4)
    throw new JclError('invalid_data', `${source}: truncated IDX file, got ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const type = (magic >> 8) & 0xff;
  const ndim = magic & 0xff;
  if (magic >> 16 !== 0 || type !== 0x08 || ndim < 1 || ndim > 4) {
    throw new JclError(
      'invalid_data',
      `${source}: not a uint8 IDX file (magic 0x${magic.toString(16).padStart(8, '0')})`,
    );
  }
  if (bytes.length < 4 + 4 * ndim) throw new JclError('invalid_data', `${source}: truncated IDX header`);
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const offset = 4 + 4 * ndim;
  if (bytes.length - offset !== count) {
    throw new JclError(
      'invalid_data',
      `${source}: expected ${count} data bytes for dims [${dims}], got ${bytes.length - offset} (truncated or corrupt)`,
    );
  }
  return { dims, data: bytes.subarray(offset) };
}

/** Loads the train or test split of an MNIST-format directory. */
export function loadFashionMnist(dir: string, split: 'train' | 'test'): DenseDataset {
  const prefix = split === 'train' ? 'train' : 't10k';
  const imgPath = join(dir, `${prefix}-images-idx3-ubyte`);
  const lblPath = join(dir, `${prefix}-labels-idx1-ubyte`);
  const images = parseIdx(readMaybeGz(imgPath, 'data.path'), imgPath);
  const labels = parseIdx(readMaybeGz(lblPath, 'data.path'), lblPath);
  if (images.dims.length !== 3 || labels.dims.length !== 1 || images.dims[0] !== labels.dims[0]) {
    throw new JclError(
      'invalid_data',
      `data.path: ${dir}: images [${images.dims}] and labels [${labels.dims}] do not match`,
    );
  }
  const [, h, w] = images.dims;
  const maxLabel = labels.data.reduce((m, v) => Math.max(m, v), 0);
  const stats = channelStats(images.data, 1);
  return new DenseDataset(
    `fashion-mnist-${split}`,
    images.data,
    labels.data,
    h,
    w,
    1,
    maxLabel + 1,
    stats.mean,
    stats.std,
  );
}
