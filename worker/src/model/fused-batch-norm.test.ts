/**
 * The fused training-mode batch norm on wasm against tf.moments + tf.batchNorm and their gradients on
 * tfjs-backend-cpu: output, batch statistics and the gradients of x, gamma and beta.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../tf.ts';
import { loadWasmBackend } from '../backend/load-wasm-backend.ts';
import { batchNormTrainFused, fusedBatchNormApplies } from './fused-batch-norm.ts';

/** y, mean, variance and d(sum(y * r))/d(x, gamma, beta) on the active backend. */
function run(shape: number[], fused: boolean, offset: number): Float32Array[] {
  const kept: tf.Tensor[] = []; // the fused op's statistics live outside tidy scopes
  const values = tf.tidy(() => {
    const c = shape[shape.length - 1];
    const x = tf.add(tf.randomNormal(shape, 0, 2, 'float32', 1), offset);
    const gamma = tf.randomUniform([c], 0.5, 1.5, 'float32', 2);
    const beta = tf.randomNormal([c], 0, 1, 'float32', 3);
    const r = tf.randomNormal(shape, 0, 1, 'float32', 4);
    const axes = shape.map((_, i) => i).slice(0, -1);
    const forward = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      if (!fused) {
        const { mean, variance } = tf.moments(a, axes);
        return { y: tf.batchNorm(a, mean, variance, b, g, 1e-5), mean, variance };
      }
      const out = batchNormTrainFused(a, g, b, 1e-5);
      kept.push(out.mean, out.variance);
      return out;
    };
    const out = forward(x, gamma, beta);
    const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(forward(a, g, b).y, r)),
    )([x, gamma, beta]);
    return [out.y, out.mean, out.variance, ...grads].map((t) => t.dataSync() as Float32Array);
  });
  tf.dispose(kept);
  return values;
}

const NAMES = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'];

describe('fused batch norm (training mode) on wasm', () => {
  beforeAll(async () => {
    await loadWasmBackend();
  });

  it.each([
    ['NHWC, 8 channels', [3, 5, 5, 8], 0],
    ['NHWC, 20 channels (strip remainder)', [2, 4, 3, 20], 0],
    ['[N, C] head, 32 channels', [16, 32], 0],
    ['mean far from zero', [4, 3, 3, 12], 50],
  ] as const)('%s matches tf.moments + tf.batchNorm on cpu', async (_name, shape, offset) => {
    await tf.setBackend('cpu');
    const want = run([...shape], false, offset);
    await tf.setBackend('wasm');
    expect(fusedBatchNormApplies(tf.zeros([...shape]))).toBe(true);
    const before = tf.memory().numTensors;
    const got = run([...shape], true, offset);
    expect(tf.memory().numTensors).toBe(before);
    want.forEach((w, k) => {
      const maxAbs = w.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-6);
      const maxErr = got[k].reduce((m, v, i) => Math.max(m, Math.abs(v - w[i])), 0);
      expect({ name: NAMES[k], ok: maxErr <= 5e-5 * maxAbs, maxErr }).toMatchObject({
        name: NAMES[k],
        ok: true,
      });
    });
  });

  it('applies only to float32 with a multiple of 4 channels on a backend that has the kernels', async () => {
    await tf.setBackend('wasm');
    expect(fusedBatchNormApplies(tf.zeros([2, 6]))).toBe(false);
    await tf.setBackend('cpu');
    expect(fusedBatchNormApplies(tf.zeros([2, 8]))).toBe(false);
  });
});
