import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/select-backend.ts';
import { parseTrainingConfig } from '../config/parse-config.ts';
import { makeSyntheticDataset } from '../data/synthetic.ts';
import { buildEncoder } from '../model/encoder.ts';
import * as tf from '../tf.ts';
import { runLinearEval, cachedFeatureSource } from './linear-eval.ts';
import { createLinearHead, disposeLinearHead, scoreLinearHead, trainLinearProbe } from './linear-probe.ts';
import { topKAccuracy } from './top-k-accuracy.ts';

beforeAll(async () => {
  await initBackend('wasm');
});

const probe = { momentum: 0.9, weightDecay: 0, milestones: [6, 8], gamma: 0.1, seed: 1 };

describe('trainLinearProbe', () => {
  it('initialises the fc as N(0, 0.01) with zero bias', () => {
    const head = createLinearHead(64, 50, 3);
    const w = Array.from(head.weight.dataSync());
    const mean = w.reduce((s, x) => s + x, 0) / w.length;
    const std = Math.sqrt(w.reduce((s, x) => s + (x - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(std).toBeGreaterThan(0.009);
    expect(std).toBeLessThan(0.011);
    expect(Array.from(head.bias.dataSync())).toEqual(new Array(50).fill(0));
    disposeLinearHead(head);
  });

  it('separates linearly separable cached features, and leaks no tensors', async () => {
    // 3 classes on the corners of a simplex in 4-d, plus noise: a linear classifier must reach 100%.
    const n = 60;
    const dim = 4;
    const features = new Float32Array(n * dim);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 3;
      for (let t = 0; t < dim; t++)
        features[i * dim + t] = (t === labels[i] ? 2 : 0) + 0.3 * Math.sin(i * 7 + t);
    }
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    const head = await trainLinearProbe(cachedFeatureSource({ features, labels, dim }, 3), {
      ...probe,
      epochs: 10,
      lr: 0.5,
      batch: 16,
      onEpoch: (e) => losses.push(e.loss),
    });
    const acc = topKAccuracy(scoreLinearHead(head, features), labels, 3, 1);
    disposeLinearHead(head);
    expect(tf.memory().numTensors).toBe(before);
    expect(acc).toBe(1);
    expect(losses).toHaveLength(10);
    expect(losses[9]).toBeLessThan(losses[0] / 2);
  });

  it('stops with a clear error when the probe diverges', async () => {
    // Identical features with different labels: the gradient never vanishes, so lr 1e38 overflows float32.
    const features = new Float32Array([1e3, 1e3, 1e3, 1e3, 1e3, 1e3]);
    const labels = new Int32Array([0, 0, 1]);
    const before = tf.memory().numTensors;
    await expect(
      trainLinearProbe(cachedFeatureSource({ features, labels, dim: 2 }, 2), {
        ...probe,
        epochs: 5,
        lr: 1e38,
        batch: 3,
      }),
    ).rejects.toThrow(
      /^lr: the linear probe diverged \(loss (NaN|Infinity) in epoch \d\); lower it, got 1e\+38$/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('runLinearEval', () => {
  const cfg = parseTrainingConfig({ model: { arch: 'resnet-tiny', embedDim: 8 }, data: { imageSize: 8 } });
  const opts = { classes: 4, perClass: 24, size: 8, channels: 3, seed: 5 };
  const train = makeSyntheticDataset(opts, 'train');
  const test = makeSyntheticDataset({ ...opts, perClass: 12 }, 'test');

  it.each([true, false])(
    'a random-init backbone gives well above chance top-1 (cacheFeatures %s), with no leaked tensors',
    async (cacheFeatures) => {
      const enc = buildEncoder(cfg.model, 3, 7);
      const before = tf.memory().numTensors;
      const r = await runLinearEval(enc, train, test, {
        ...probe,
        epochs: cacheFeatures ? 30 : 10,
        lr: 1,
        batch: 32,
        milestones: cacheFeatures ? [20, 25] : [6, 8],
        size: 8,
        cacheFeatures,
        cropScaleMin: 0.5,
        cropScaleMax: 1,
        flipProb: 0.5,
        limit: 0,
      });
      expect(tf.memory().numTensors).toBe(before);
      enc.params.dispose();
      expect(r).toMatchObject({ trainSize: 96, testSize: 48, featureDim: enc.featureDim });
      expect(r.augmentation).toBe(
        cacheFeatures ? 'off (cached centre-crop features)' : 'random-resized-crop+flip',
      );
      // Chance is 0.25; random-init features of this tiny ResNet give about 0.45 (deterministic seeds).
      expect(r.top1).toBeGreaterThan(0.375);
      expect(r.top5).toBe(1); // 4 classes: every label is in the top 5
    },
  );
});
