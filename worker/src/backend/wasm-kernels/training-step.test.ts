/**
 * A whole ResNet-like training step on the fast wasm kernels: every kernel it needs is registered,
 * gradients match tfjs-backend-cpu, and no tensor leaks across repeated steps (house style 5).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers'; // registers the gradient functions of tfjs-core ops
import { backend_util } from '@tensorflow/tfjs-core';
import { loadWasmBackend } from '../load-wasm-backend.ts';
import { parseTrainingConfig } from '../../config/parse-config.ts';
import { LocalCollective } from '../../distributed/collective.ts';
import { createTrainState } from '../../train/train-state.ts';
import { runTrainStep, type StepBatch } from '../../train/train-step.ts';
import { Rng } from '../../util/rng.ts';
import {
  useStridedIm2col,
  useWinogradForward,
  useWinogradS2FilterGrad,
  useWinogradS2Forward,
} from './winograd-conv.ts';

type Shapes = Record<string, number[]>;
const PARAM_SHAPES: Shapes = {
  stem: [3, 3, 3, 8],
  gamma: [8],
  beta: [8],
  c1: [3, 3, 8, 16],
  c2: [3, 3, 16, 16],
  sc: [1, 1, 8, 16],
  fc: [16, 5],
};

/** Training-mode batch norm: the fused tf.batchNorm with an affine part, else the plain formula. */
function batchNorm(x: tf.Tensor4D, gamma?: tf.Tensor, beta?: tf.Tensor): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2]); // [C]
  if (gamma !== undefined && beta !== undefined)
    return tf.batchNorm(x, mean, variance, beta, gamma, 1e-5) as tf.Tensor4D;
  return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))) as tf.Tensor4D;
}

/** x: [N, 11, 11, 3] -> scalar loss; stem, max-pool 3x3/2, one stride-2 residual block, L2-normalised head. */
function loss(p: Record<string, tf.Variable>, x: tf.Tensor4D, labels: tf.Tensor2D): tf.Scalar {
  let h = tf.relu(batchNorm(tf.conv2d(x, p.stem as tf.Tensor4D, 1, 'same'), p.gamma, p.beta)); // [N, 11, 11, 8]
  h = tf.maxPool(h, 3, 2, 'same'); // [N, 6, 6, 8]
  const r = tf.relu(
    batchNorm(
      tf.conv2d(h, p.c1 as tf.Tensor4D, 2, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]),
    ),
  ); // [N, 3, 3, 16]
  const main = batchNorm(tf.conv2d(r, p.c2 as tf.Tensor4D, 1, 'same'));
  const shortcut = batchNorm(tf.conv2d(h, p.sc as tf.Tensor4D, 2, 'valid'));
  const pooled = tf.mean(tf.relu(tf.add(main, shortcut)), [1, 2]) as tf.Tensor2D; // [N, 16]
  const z = tf.div(pooled, tf.add(tf.norm(pooled, 'euclidean', 1, true), 1e-6)); // [N, 16]
  const logits = tf.matMul(z, p.fc as tf.Tensor2D); // [N, 5]
  const avg = tf.mean(tf.avgPool(r, 2, 1, 'valid'));
  return tf.add(
    tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), labels), 1))),
    tf.mul(avg, 0.1),
  ) as tf.Scalar;
}

/** Gradients of one step on the active backend from seeded parameters and data. */
function gradsOnActiveBackend(): Record<string, Float32Array> {
  return tf.tidy(() => {
    const p: Record<string, tf.Variable> = {};
    Object.entries(PARAM_SHAPES).forEach(([name, shape], i) => {
      p[name] = tf.variable(
        tf.randomNormal(shape, 0, 0.5, 'float32', 11 + i),
        true,
        `${name}_${tf.getBackend()}`,
      );
    });
    const x = tf.randomNormal([3, 11, 11, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const labels = tf.oneHot(tf.tensor1d([0, 2, 4], 'int32'), 5) as tf.Tensor2D;
    const { grads } = tf.variableGrads(() => loss(p, x, labels));
    const out = Object.fromEntries(
      Object.keys(PARAM_SHAPES).map((k) => [k, grads[`${k}_${tf.getBackend()}`].dataSync() as Float32Array]),
    );
    Object.values(p).forEach((v) => v.dispose());
    return out;
  });
}

describe('ResNet-like training step on fast wasm', () => {
  beforeAll(async () => {
    await loadWasmBackend();
  });

  it('matches tfjs-backend-cpu gradients', async () => {
    await tf.setBackend('cpu');
    const expected = gradsOnActiveBackend();
    await tf.setBackend('wasm');
    const actual = gradsOnActiveBackend();
    for (const name of Object.keys(PARAM_SHAPES)) {
      const maxAbs = expected[name].reduce((m, v) => Math.max(m, Math.abs(v)), 1e-6);
      const maxErr = actual[name].reduce((m, v, i) => Math.max(m, Math.abs(v - expected[name][i])), 0);
      expect({ name, ok: maxErr <= 1e-4 * maxAbs }).toEqual({ name, ok: true });
    }
  });

  it('does not leak tensors across repeated steps', async () => {
    await tf.setBackend('wasm');
    const p: Record<string, tf.Variable> = {};
    Object.entries(PARAM_SHAPES).forEach(([name, shape], i) => {
      p[name] = tf.variable(tf.randomNormal(shape, 0, 0.5, 'float32', 40 + i));
    });
    const x = tf.randomNormal([2, 11, 11, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const labels = tf.oneHot(tf.tensor1d([1, 3], 'int32'), 5) as tf.Tensor2D;
    const step = () => {
      const { value, grads } = tf.variableGrads(() => loss(p, x, labels));
      tf.tidy(() => Object.values(p).forEach((v) => v.assign(tf.sub(v, tf.mul(grads[v.name], 0.01)))));
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const tensorsBefore = tf.memory().numTensors;
    const bytesBefore = tf.memory().numBytes;
    for (let i = 0; i < 3; i++) step();
    expect({ numTensors: tf.memory().numTensors, numBytes: tf.memory().numBytes }).toEqual({
      numTensors: tensorsBefore,
      numBytes: bytesBefore,
    });
    tf.dispose([x, labels, ...Object.values(p)]);
  });
});

/**
 * One whole JCL step (query forward/backward, key encoder on M crops, loss, SGD, key momentum, queue) of
 * resnet-tiny at 16x16: its stride-1 layers take Winograd, its stride-2 3x3 layers the polyphase Winograd,
 * its 1x1 stride-2 shortcuts and strided input gradients the patch products, batch norm the fused kernels.
 */
describe('a JCL step of resnet-tiny on fast wasm', () => {
  const model = { arch: 'resnet-tiny', embedDim: 16, headHidden: 0, headBatchNorm: false } as const;
  const n = 4;
  const m = 2;
  const size = 16;

  async function stepOn(backend: 'cpu' | 'wasm') {
    await tf.setBackend(backend);
    const cfg = parseTrainingConfig({
      model,
      jcl: { positives: m, queueSize: 32 },
      optim: { batchSize: n },
      runtime: { seed: 11 },
    });
    const st = createTrainState(cfg, 3, new LocalCollective());
    const rng = new Rng(7);
    const batch: StepBatch = {
      query: Float32Array.from({ length: n * size * size * 3 }, () => rng.normal()),
      keys: Float32Array.from({ length: m * n * size * size * 3 }, () => rng.normal()),
      n,
      m,
      size,
      channels: 3,
    };
    const before = new Map(
      [...(await st.query.params.read())].map(([k, v]) => [k, Float32Array.from(v.data)]),
    );
    const metrics = await runTrainStep(st, batch, { lr: 0.1, ratio: 2, tau: 0.2, keyMomentum: 0.9 });
    const updates = new Map(
      [...(await st.query.params.read())].map(([k, v]) => [
        k,
        Float32Array.from(v.data, (x, i) => x - before.get(k)![i]),
      ]),
    );
    return { metrics, updates };
  }

  it('takes the fast paths and gives the loss and parameter updates tfjs-backend-cpu gives', async () => {
    const info = (x: [number, number, number, number], co: number, stride: number, k = 3) =>
      backend_util.computeConv2DInfo(x, [k, k, x[3], co], stride, 1, 'same');
    expect(useWinogradForward(info([n * m, 16, 16, 16], 16, 1), 'float32')).toBe(true); // layer1, key encoder
    expect(useWinogradS2Forward(info([n * m, 16, 16, 16], 32, 2), 'float32')).toBe(true); // layer2.0
    expect(useWinogradS2FilterGrad(info([n, 16, 16, 16], 32, 2), 'float32')).toBe(true);
    expect(useStridedIm2col(info([n, 16, 16, 16], 32, 2, 1), 'float32', 'forward')).toBe(true); // shortcut
    expect(useStridedIm2col(info([n, 16, 16, 16], 32, 2), 'float32', 'inputGrad')).toBe(true);
    const want = await stepOn('cpu');
    const got = await stepOn('wasm');
    for (const key of ['loss', 'lossCls', 'lossJcl'] as const) {
      expect(Math.abs(got.metrics[key] - want.metrics[key])).toBeLessThanOrEqual(
        1e-4 * Math.abs(want.metrics[key]),
      );
    }
    for (const [name, w] of want.updates) {
      const g = got.updates.get(name)!;
      const scale = w.reduce((a, v) => Math.max(a, Math.abs(v)), 1e-12);
      const err = g.reduce((a, v, i) => Math.max(a, Math.abs(v - w[i])), 0);
      expect({ name, ok: err <= 2e-3 * scale }).toEqual({ name, ok: true });
    }
  });
});
