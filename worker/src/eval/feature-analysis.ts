/**
 * The paper's statistical analysis of learned features (docs/JCL.md, end of "Linear evaluation
 * protocol"), for `images` held-out images with `keys` training-augmented crops each:
 *   - cosine similarity of positive pairs (crops of one image) vs negative pairs (crops of two images);
 *   - per-instance spread of the keys: trace and top eigenvalues of Sigma (jcl-loss.ts
 *     computeKeyCovariance over l2-normalised key embeddings, the quantity JCL's bound uses);
 *   - alignment and uniformity (Wang & Isola 2020).
 * Orchestration over the encoder; the statistics themselves are pure (feature-stats.ts).
 */
import * as tf from '../tf.ts';
import { augmentInto, type AugmentConfig } from '../data/augment.ts';
import { cropShrinkLimit } from '../data/augment-params.ts';
import { forEachImage, range } from '../data/for-each-image.ts';
import type { ImageDataset } from '../data/dataset.ts';
import { mixSeed } from '../data/sampler.ts';
import { computeKeyCovariance, l2Normalize } from '../jcl/jcl-loss.ts';
import type { Encoder } from '../model/encoder.ts';
import { Rng } from '../util/rng.ts';
import {
  alignment,
  histogram,
  keySpreadEigenvalues,
  pairCosines,
  summarize,
  uniformity,
  type CropEmbeddings,
  type Histogram,
} from './feature-stats.ts';

export interface FeatureAnalysisOptions {
  images: number;
  keys: number;
  size: number;
  augment: AugmentConfig;
  seed: number;
  /** Histogram bins over cosine similarity [-1, 1]. */
  bins: number;
  /** Eigenvalues reported per instance (at most keys - 1 are non-zero). */
  topEigen: number;
}

type Summary = ReturnType<typeof summarize>;

export interface FeatureAnalysis {
  images: number;
  keys: number;
  embedDim: number;
  positiveCosine: Summary & { histogram: Histogram; pairs: number };
  negativeCosine: Summary & { histogram: Histogram; pairs: number };
  alignment: number;
  uniformity: number;
  keySpread: {
    /** trace(Sigma_i) over instances: total variance of one image's keys. */
    trace: Summary;
    /** Mean over instances of the i-th largest eigenvalue of Sigma_i. */
    topEigenvalues: number[];
    /** Mean over instances of lambda_1 / trace: how one-dimensional each instance's spread is. */
    topEigenvalueShare: number;
    /** trace of the covariance of the key means across instances, for scale. */
    betweenInstanceTrace: number;
  };
}

/**
 * Embeds `keys` augmented crops of the first `images` images: l2-normalised [M, N, d], crop-major.
 * Each image is read once per chunk; crop j of image i comes from its own stream (seed, j, i).
 */
export async function embedAugmentedCrops(
  enc: Encoder,
  ds: ImageDataset,
  o: FeatureAnalysisOptions,
): Promise<CropEmbeddings> {
  const n = Math.min(o.images, ds.size);
  const m = o.keys;
  const c = ds.channels;
  const pix = o.size * o.size * c;
  const d = enc.embedDim;
  const data = new Float32Array(m * n * d);
  const norm = { mean: ds.mean, std: ds.std };
  const chunk = 64;
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const xs = Array.from({ length: m }, () => new Float32Array(count * pix)); // m x [count, S, S, C]
    await forEachImage(
      ds,
      range(start, count),
      (img, i) => {
        for (let j = 0; j < m; j++) {
          const rng = new Rng(mixSeed(o.seed, j, start + i));
          augmentInto(img, c, o.size, o.augment, norm, rng, xs[j], i * pix);
        }
      },
      { maxShrink: cropShrinkLimit(o.augment.cropScaleMin, o.size) },
    );
    for (let j = 0; j < m; j++) {
      const z = tf.tidy(() =>
        l2Normalize(enc.embed(tf.tensor4d(xs[j], [count, o.size, o.size, c]), { training: false })),
      ); // [count, d]
      data.set(z.dataSync() as Float32Array, (j * n + start) * d);
      z.dispose();
    }
  }
  return { data, m, n, d };
}

/** trace(Sigma_i) for every instance, from computeKeyCovariance: [N]. */
export function keyCovarianceTraces(e: CropEmbeddings): Float32Array {
  const t = tf.tidy(() => {
    const sigma = computeKeyCovariance(tf.tensor3d(e.data, [e.m, e.n, e.d])); // [N, d, d]
    return tf.sum(tf.mul(sigma, tf.eye(e.d)), [1, 2]); // [N]
  });
  const out = t.dataSync() as Float32Array;
  t.dispose();
  return out;
}

/** Runs the whole analysis; tensors are created and disposed inside. */
export async function analyzeFeatures(
  enc: Encoder,
  ds: ImageDataset,
  o: FeatureAnalysisOptions,
): Promise<FeatureAnalysis> {
  if (!Number.isInteger(o.keys) || o.keys < 2)
    throw new RangeError(`keys: expected an integer >= 2 (positive pairs need two crops), got ${o.keys}`);
  if (!Number.isInteger(o.images) || o.images < 2)
    throw new RangeError(
      `images: expected an integer >= 2 (negative pairs need two images), got ${o.images}`,
    );
  const e = await embedAugmentedCrops(enc, ds, o);
  const { positive, negative } = pairCosines(e);
  const traces = keyCovarianceTraces(e);
  const r = Math.min(o.topEigen, e.m);
  const eigenSums = new Float64Array(r);
  let share = 0;
  for (let i = 0; i < e.n; i++) {
    const ev = keySpreadEigenvalues(e, i);
    for (let k = 0; k < r; k++) eigenSums[k] += ev[k];
    const total = ev.reduce((s, v) => s + v, 0);
    share += total > 0 ? ev[0] / total : 0;
  }
  return {
    images: e.n,
    keys: e.m,
    embedDim: e.d,
    positiveCosine: {
      ...summarize(positive),
      histogram: histogram(positive, o.bins),
      pairs: positive.length,
    },
    negativeCosine: {
      ...summarize(negative),
      histogram: histogram(negative, o.bins),
      pairs: negative.length,
    },
    alignment: alignment(e),
    uniformity: uniformity(e),
    keySpread: {
      trace: summarize(traces),
      topEigenvalues: Array.from(eigenSums, (s) => s / e.n),
      topEigenvalueShare: share / e.n,
      betweenInstanceTrace: betweenInstanceTrace(e),
    },
  };
}

/** trace of the (biased) covariance of the per-image key means mu_i across the N images. */
function betweenInstanceTrace(e: CropEmbeddings): number {
  const { m, n, d, data } = e;
  const mu = new Float64Array(n * d);
  for (let j = 0; j < m; j++)
    for (let i = 0; i < n; i++) for (let t = 0; t < d; t++) mu[i * d + t] += data[(j * n + i) * d + t] / m;
  let total = 0;
  for (let t = 0; t < d; t++) {
    let s = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      s += mu[i * d + t];
      sq += mu[i * d + t] ** 2;
    }
    total += sq / n - (s / n) ** 2;
  }
  return total;
}
