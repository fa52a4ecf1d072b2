/** BatchMatMul with a transposed operand on wasm (batch-mat-mul.ts) against tfjs-backend-cpu. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadWasmBackend } from '../load-wasm-backend.ts';
import { expectClose } from './conv-test-support.ts';

const CASES: Array<[string, number[], number[], boolean, boolean]> = [
  ['a^T b (a head weight gradient)', [32, 512], [32, 64], true, false],
  ['a b^T (the gradient through the negative logits)', [32, 256], [128, 256], false, true],
  ['a b^T, rank 3 with a batch of 1', [1, 12, 20], [1, 16, 20], false, true],
  ['a^T b, odd shared dimension', [7, 8], [7, 16], true, false],
  ['columns not in eights (stock kernel)', [5, 8], [5, 12], true, false],
  ['both transposed (stock kernel)', [6, 8], [16, 6], true, true],
  ['batch of 3 (stock kernel)', [3, 4, 8], [3, 16, 8], false, true],
];

describe('BatchMatMul with transposes on wasm', () => {
  beforeAll(async () => {
    await loadWasmBackend();
  });

  it.each(CASES)('%s matches tfjs-backend-cpu', async (_name, aShape, bShape, transposeA, transposeB) => {
    const run = () =>
      tf.tidy(() => {
        const a = tf.randomNormal(aShape, 0, 1, 'float32', 1);
        const b = tf.randomNormal(bShape, 0, 1, 'float32', 2);
        return tf.matMul(a, b, transposeA, transposeB).dataSync() as Float32Array;
      });
    await tf.setBackend('cpu');
    const want = run();
    await tf.setBackend('wasm');
    const before = tf.engine().backend.numDataIds();
    const got = run();
    expectClose(got, want, 1e-5);
    expect(tf.engine().backend.numDataIds()).toBe(before);
  });
});
