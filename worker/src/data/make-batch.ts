/**
 * Builds the crops of one training step: for every image a query crop and M key crops, each from a
 * generator seeded by (seed, epoch, image index), so the result does not depend on which thread or
 * process makes it, nor in which order. Keys are crop-major: crop j of image i is row j*N + i.
 */
import { Rng } from '../util/rng.ts';
import { augmentInto, type AugmentConfig } from './augment.ts';
import { cropShrinkLimit } from './augment-params.ts';
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
  /** Undecodable files replaced by the next decodable one while making this batch. */
  skipped: number;
}

export interface CropOptions {
  epoch: number;
  seed: number;
  m: number;
  size: number;
  augment: AugmentConfig;
}

/** Where the crops of a batch go (possibly shared memory that several loader threads write). */
export interface CropTarget {
  query: Float32Array;
  keys: Float32Array;
  labels: Int32Array;
}

/**
 * Makes the crops of every position `claim()` hands out (until it returns >= indices.length) into
 * `target`, with `lanes` images in flight so decoding overlaps augmentation. Returns the files skipped.
 */
export async function fillCrops(
  ds: ImageDataset,
  indices: Int32Array,
  opts: CropOptions,
  target: CropTarget,
  claim: () => number,
  lanes = 2,
): Promise<number> {
  const { m, size } = opts;
  const c = ds.channels;
  const n = indices.length;
  const pix = size * size * c;
  const norm = { mean: ds.mean, std: ds.std };
  const limit = cropShrinkLimit(opts.augment.cropScaleMin, size);
  const skippedBefore = ds.skipped;
  const lane = async () => {
    for (let i = claim(); i < n; i = claim()) {
      const idx = indices[i];
      const img = await ds.read(idx, limit);
      target.labels[i] = img.label;
      const rng = new Rng(mixSeed(opts.seed, opts.epoch, idx));
      augmentInto(img, c, size, opts.augment, norm, rng, target.query, i * pix);
      for (let j = 0; j < m; j++)
        augmentInto(img, c, size, opts.augment, norm, rng, target.keys, (j * n + i) * pix);
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return ds.skipped - skippedBefore;
}

/** Allocates a batch's arrays (in shared memory when `shared`, so loader threads can write them). */
export function allocCropBatch(
  n: number,
  m: number,
  size: number,
  channels: number,
  shared: boolean,
): CropBatch {
  const pix = size * size * channels;
  const buf = (bytes: number) => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  return {
    query: new Float32Array(buf(4 * n * pix)),
    keys: new Float32Array(buf(4 * m * n * pix)),
    labels: new Int32Array(buf(4 * n)),
    n,
    m,
    size,
    channels,
    skipped: 0,
  };
}

/** The whole batch on this thread. */
export async function makeCropBatch(
  ds: ImageDataset,
  indices: Int32Array,
  opts: CropOptions,
): Promise<CropBatch> {
  const b = allocCropBatch(indices.length, opts.m, opts.size, ds.channels, false);
  let next = 0;
  b.skipped = await fillCrops(ds, indices, opts, b, () => next++);
  return b;
}
