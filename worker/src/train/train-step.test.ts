import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../tf.ts';
import { buildEncoder } from '../model/encoder.ts';
import { LocalCollective } from '../distributed/collective.ts';
import { Rng } from '../util/rng.ts';
import { KeyQueue } from './key-queue.ts';
import { Sgd } from './sgd.ts';
import { runTrainStep, type StepBatch, type StepState } from './train-step.ts';

const model = { arch: 'resnet-tiny', embedDim: 16, headHidden: 0, headBatchNorm: false } as const;

function makeState(): StepState {
  return {
    query: buildEncoder(model, 3, 11),
    key: buildEncoder(model, 3, 11),
    queue: new KeyQueue(16, 32, 5),
    sgd: new Sgd(0.9, 1e-4),
    collective: new LocalCollective(),
    shuffleRng: new Rng(3),
  };
}

function makeBatch(seed: number, n = 4, m = 2, size = 8, channels = 3): StepBatch {
  const rng = new Rng(seed);
  const query = Float32Array.from({ length: n * size * size * channels }, () => rng.normal());
  const keys = Float32Array.from({ length: m * n * size * size * channels }, () => rng.normal());
  return { query, keys, n, m, size, channels };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('runTrainStep', () => {
  it('does not leak tensors across steps', async () => {
    const st = makeState();
    const hp = { lr: 0.05, ratio: 2, tau: 0.2, keyMomentum: 0.99 };
    await runTrainStep(st, makeBatch(1), hp); // first step creates the SGD momentum buffers
    const after1 = tf.memory().numTensors;
    for (let s = 2; s <= 4; s++) await runTrainStep(st, makeBatch(s), hp);
    expect(tf.memory().numTensors).toBe(after1);
  });

  it('moves the query encoder, lets the key encoder follow by momentum and advances the queue', async () => {
    const st = makeState();
    const w0 = st.query.params.get('conv1.weight').dataSync().slice();
    const k0 = st.key.params.get('conv1.weight').dataSync().slice();
    const metrics = await runTrainStep(st, makeBatch(1), { lr: 0.1, ratio: 1, tau: 0.2, keyMomentum: 0.5 });
    expect(Number.isFinite(metrics.loss)).toBe(true);
    expect(metrics.loss).toBeCloseTo(metrics.lossCls + metrics.lossJcl, 5);
    expect(metrics.lossJcl).toBeGreaterThan(0);
    const w1 = st.query.params.get('conv1.weight').dataSync();
    expect(w1.some((v, i) => v !== w0[i])).toBe(true);
    // Momentum update happens before the SGD step; query and key started equal, so keys stay put.
    expect(Array.from(st.key.params.get('conv1.weight').dataSync())).toEqual(Array.from(k0));
    expect(st.queue.pointer).toBe(4);
  });
});
