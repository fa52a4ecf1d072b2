/**
 * Builds the crops of one training step: for every image a query crop and M key crops, each from a
 * generator seeded by (seed, epoch, image index, crop), so the result does not depend on which thread
 * or process makes it. Keys are crop-major: crop j of image i is row j*N + i.
 */
import { Rng } from '../util/rng.ts';
import { augmentInto, type AugmentConfig } from './augment.ts';
import type { ImageDataset } from './dataset.ts';
import { mixSeed } from './sampler.ts';

export interface CropBatch {
  query: Float32Array; // [N, S, S, C]
  keys: Float32Array; // [M*N, S, S, C]
  labels: Int32Array; // [N]
  n: number;
  m: number;
  size: number;
  channels: number;
}

export function makeCropBatch(
  ds: ImageDataset,
  indices: Int32Array,
  opts: { epoch: number; seed: number; m: number; size: number; augment: AugmentConfig },
): CropBatch {
  const { m, size } = opts;
  const c = ds.channels;
  const n = indices.length;
  const pix = size * size * c;
  const query = new Float32Array(n * pix);
  const keys = new Float32Array(m * n * pix);
  const labels = new Int32Array(n);
  const norm = { mean: ds.mean, std: ds.std };
  for (let i = 0; i < n; i++) {
    const idx = indices[i];
    const img = ds.image(idx);
    labels[i] = ds.label(idx);
    const rng = new Rng(mixSeed(opts.seed, opts.epoch, idx));
    augmentInto(img, c, size, opts.augment, norm, rng, query, i * pix);
    for (let j = 0; j < m; j++) augmentInto(img, c, size, opts.augment, norm, rng, keys, (j * n + i) * pix);
  }
  return { query, keys, labels, n, m, size, channels: c };
}
