/**
 * A whole ResNet-like training step on the fast wasm kernels: every kernel it needs is registered,
 * gradients match tfjs-backend-cpu, and no tensor leaks across repeated steps (house style 5).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers'; // registers the gradient functions of tfjs-core ops
import { loadWasmBackend } from '../load-wasm-backend.ts';

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
