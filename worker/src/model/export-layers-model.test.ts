import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfjs from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/select-backend.ts';
import { parseTrainingConfig } from '../config/parse-config.ts';
import * as tf from '../tf.ts';
import { buildEncoder } from './encoder.ts';
import { exportBackbone } from './export-layers-model.ts';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('exportBackbone', () => {
  it.each(['resnet-tiny', 'resnet18'] as const)(
    '%s: the saved LayersModel reproduces the backbone features (BN in inference mode)',
    async (arch) => {
      const size = arch === 'resnet18' ? 32 : 12;
      const cfg = parseTrainingConfig({
        model: { arch },
        data: { imageSize: size },
        optim: { batchSize: 8 },
        jcl: { queueSize: 64 },
      });
      const enc = buildEncoder(cfg.model, 3, 5);
      // Non-trivial running statistics, so a mix-up of mean/variance/gamma/beta would show.
      for (const e of enc.params.entries) {
        if (e.name.endsWith('running_var'))
          e.variable.assign(
            tf.add(tf.onesLike(e.variable), tf.randomUniform(e.variable.shape, 0, 1, 'float32', 1)),
          );
        if (e.name.endsWith('running_mean') || (e.name.includes('bn') && e.name.endsWith('.bias')))
          e.variable.assign(tf.randomNormal(e.variable.shape, 0, 0.1, 'float32', 2));
      }
      const dir = mkdtempSync(join(tmpdir(), 'export-'));
      await exportBackbone(enc, cfg, 3, dir);
      const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
      expect(modelJson.format).toBe('layers-model');
      const weights = readFileSync(join(dir, 'weights.bin'));
      const loaded = await tfjs.loadLayersModel(
        tfjs.io.fromMemory({
          modelTopology: modelJson.modelTopology,
          weightSpecs: modelJson.weightsManifest[0].weights,
          weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
        }),
      );
      const x = tf.randomNormal([2, size, size, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
      const ours = enc.features(x, { training: false });
      const theirs = loaded.predict(x) as tf.Tensor;
      expect(theirs.shape).toEqual(ours.shape);
      const maxErr = tf.max(tf.abs(tf.sub(ours, theirs))).dataSync()[0];
      const scale = tf.max(tf.abs(ours)).dataSync()[0];
      expect(maxErr / scale).toBeLessThan(1e-4);
      tf.dispose([x, ours, theirs]);
      loaded.dispose();
      enc.params.dispose();
    },
  );
});
