import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/select-backend.ts';
import { parseTrainingConfig } from '../config/parse-config.ts';
import { makeSyntheticDataset } from '../data/synthetic.ts';
import { buildEncoder } from '../model/encoder.ts';
import * as tf from '../tf.ts';
import { analyzeFeatures, embedAugmentedCrops, keyCovarianceTraces } from './feature-analysis.ts';
import { keySpreadEigenvalues } from './feature-stats.ts';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('analyzeFeatures', () => {
  const cfg = parseTrainingConfig({ model: { arch: 'resnet-tiny', embedDim: 8 }, data: { imageSize: 8 } });
  const ds = makeSyntheticDataset({ classes: 4, perClass: 4, size: 8, channels: 3, seed: 2 }, 'test');
  const o = { images: 10, keys: 3, size: 8, augment: cfg.data.augment, seed: 4, bins: 10, topEigen: 3 };

  it('trace(Sigma) from computeKeyCovariance equals the sum of the Gram eigenvalues', async () => {
    const enc = buildEncoder(cfg.model, 3, 1);
    const e = await embedAugmentedCrops(enc, ds, o);
    enc.params.dispose();
    expect([e.m, e.n, e.d]).toEqual([3, 10, 8]);
    for (let r = 0; r < e.m * e.n; r++) {
      const norm = Math.hypot(...e.data.subarray(r * 8, r * 8 + 8));
      expect(norm).toBeCloseTo(1, 5);
    }
    const traces = keyCovarianceTraces(e);
    for (let i = 0; i < e.n; i++) {
      const ev = keySpreadEigenvalues(e, i);
      expect(ev[2]).toBeCloseTo(0, 5); // rank <= M - 1
      expect(ev[0] + ev[1]).toBeCloseTo(traces[i], 5);
    }
  });

  it('reports positives, negatives, alignment, uniformity and key spread, leaking no tensors', async () => {
    const enc = buildEncoder(cfg.model, 3, 1);
    const before = tf.memory().numTensors;
    const a = await analyzeFeatures(enc, ds, o);
    expect(tf.memory().numTensors).toBe(before);
    enc.params.dispose();
    expect(a).toMatchObject({ images: 10, keys: 3, embedDim: 8 });
    expect(a.positiveCosine.pairs).toBe(30); // 10 images x 3 pairs of crops
    expect(a.negativeCosine.pairs).toBe(135); // 3 crops x 45 image pairs
    expect(a.positiveCosine.histogram.counts.reduce((s, x) => s + x, 0)).toBe(30);
    // Unit vectors: align = 2 - 2 E[cos+] exactly.
    expect(a.alignment).toBeCloseTo(2 - 2 * a.positiveCosine.mean, 5);
    expect(a.uniformity).toBeLessThanOrEqual(0);
    expect(a.uniformity).toBeGreaterThanOrEqual(-8);
    expect(a.keySpread.topEigenvalues).toHaveLength(3);
    expect(a.keySpread.topEigenvalueShare).toBeGreaterThanOrEqual(0.5); // 2 non-zero eigenvalues
    expect(a.keySpread.trace.mean).toBeCloseTo(
      a.keySpread.topEigenvalues.reduce((s, x) => s + x, 0),
      5,
    );
    await expect(analyzeFeatures(enc, ds, { ...o, keys: 1 })).rejects.toThrow(
      'keys: expected an integer >= 2',
    );
  });
});
