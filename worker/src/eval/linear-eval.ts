/**
 * Linear evaluation of a frozen backbone (docs/JCL.md "Linear evaluation protocol"): the query
 * encoder's backbone without its head, BN in inference mode, global-average-pooled features, one fc
 * layer trained on RandomResizedCrop + flip crops (no colour operations), validated on centre crops,
 * top-1 and top-5. With `cacheFeatures` the training features are extracted once with the centre
 * transform, so augmentation is off (fast for small datasets; the result is then not the paper's
 * protocol).
 */
import * as tf from '../tf.ts';
import { augmentInto, type AugmentConfig } from '../data/augment.ts';
import type { ImageDataset } from '../data/dataset.ts';
import { cropShrinkLimit } from '../data/augment-params.ts';
import { forEachImage } from '../data/for-each-image.ts';
import { mixSeed } from '../data/sampler.ts';
import type { Encoder } from '../model/encoder.ts';
import { Rng } from '../util/rng.ts';
import { extractFeatures } from './extract-features.ts';
import {
  disposeLinearHead,
  scoreLinearHead,
  trainLinearProbe,
  type LinearProbeOptions,
  type ProbeTrainSource,
} from './linear-probe.ts';
import { topKAccuracy } from './top-k-accuracy.ts';

export interface LinearEvalOptions extends Omit<LinearProbeOptions, 'onEpoch'> {
  /** Crop side fed to the backbone (the training config's data.imageSize). */
  size: number;
  cacheFeatures: boolean;
  /** RandomResizedCrop scale range (torchvision default 0.08-1) and flip probability. */
  cropScaleMin: number;
  cropScaleMax: number;
  flipProb: number;
  /** Cap on images per split (0 or Infinity: all). */
  limit: number;
  onEpoch?: LinearProbeOptions['onEpoch'];
}

export interface LinearEvalResult {
  top1: number;
  top5: number;
  trainTop1: number;
  trainSize: number;
  testSize: number;
  featureDim: number;
  augmentation: 'random-resized-crop+flip' | 'off (cached centre-crop features)';
}

/** RandomResizedCrop + flip only: augment.ts's sampleCropBox and flip, every colour op at p = 0. */
export function cropFlipAugment(o: {
  cropScaleMin: number;
  cropScaleMax: number;
  flipProb: number;
}): AugmentConfig {
  return {
    cropScaleMin: o.cropScaleMin,
    cropScaleMax: o.cropScaleMax,
    flipProb: o.flipProb,
    jitterProb: 0,
    brightness: 0,
    contrast: 0,
    saturation: 0,
    hue: 0,
    grayscaleProb: 0,
    blurProb: 0,
    blurSigmaMin: 0.1,
    blurSigmaMax: 2,
  };
}

/** Features of fresh augmented crops through the frozen backbone, per mini-batch. */
export function augmentedFeatureSource(
  enc: Encoder,
  ds: ImageDataset,
  o: { size: number; seed: number; augment: AugmentConfig; limit: number },
): ProbeTrainSource {
  const c = ds.channels;
  const pix = o.size * o.size * c;
  const norm = { mean: ds.mean, std: ds.std };
  return {
    size: Math.min(ds.size, o.limit),
    dim: enc.featureDim,
    numClasses: ds.numClasses,
    async batch(indices, epoch) {
      const x = new Float32Array(indices.length * pix);
      const labels = new Int32Array(indices.length);
      await forEachImage(
        ds,
        indices,
        (img, i) => {
          // One stream per (seed, epoch, image): the crops do not depend on batch composition.
          const rng = new Rng(mixSeed(o.seed, epoch, indices[i]));
          augmentInto(img, c, o.size, o.augment, norm, rng, x, i * pix);
          labels[i] = img.label;
        },
        { maxShrink: cropShrinkLimit(o.augment.cropScaleMin, o.size) },
      );
      const f = tf.tidy(() =>
        enc.features(tf.tensor4d(x, [indices.length, o.size, o.size, c]), { training: false }),
      ); // [B, D]
      return { x: f, labels };
    },
  };
}

/** Cached features [n, dim] (host memory), gathered per mini-batch. */
export function cachedFeatureSource(
  cache: { features: Float32Array; labels: Int32Array; dim: number },
  numClasses: number,
): ProbeTrainSource {
  const { dim } = cache;
  return {
    size: cache.labels.length,
    dim,
    numClasses,
    batch(indices) {
      const x = new Float32Array(indices.length * dim);
      const labels = new Int32Array(indices.length);
      indices.forEach((idx, i) => {
        x.set(cache.features.subarray(idx * dim, (idx + 1) * dim), i * dim);
        labels[i] = cache.labels[idx];
      });
      return { x: tf.tensor2d(x, [indices.length, dim]), labels };
    },
  };
}

/** Trains the linear classifier on `train` and reports top-1/top-5 on `test` (and top-1 on train). */
export async function runLinearEval(
  enc: Encoder,
  train: ImageDataset,
  test: ImageDataset,
  o: LinearEvalOptions,
): Promise<LinearEvalResult> {
  const limit = o.limit > 0 ? o.limit : Infinity;
  // Unnormalised pooled features: the paper's fc sits directly on the backbone output.
  const centreTrain = await extractFeatures(enc, train, { size: o.size, limit, normalize: false });
  const src = o.cacheFeatures
    ? cachedFeatureSource(centreTrain, train.numClasses)
    : augmentedFeatureSource(enc, train, { size: o.size, seed: o.seed, augment: cropFlipAugment(o), limit });
  const head = await trainLinearProbe(src, o);
  try {
    const val = await extractFeatures(enc, test, { size: o.size, limit, normalize: false });
    const scores = scoreLinearHead(head, val.features);
    const trainScores = scoreLinearHead(head, centreTrain.features);
    const k5 = Math.min(5, train.numClasses);
    return {
      top1: topKAccuracy(scores, val.labels, train.numClasses, 1),
      top5: topKAccuracy(scores, val.labels, train.numClasses, k5),
      trainTop1: topKAccuracy(trainScores, centreTrain.labels, train.numClasses, 1),
      trainSize: src.size,
      testSize: val.labels.length,
      featureDim: enc.featureDim,
      augmentation: o.cacheFeatures ? 'off (cached centre-crop features)' : 'random-resized-crop+flip',
    };
  } finally {
    disposeLinearHead(head);
  }
}
