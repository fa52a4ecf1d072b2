/**
 * The SIMD kernels on the tfjs heap: the committed bytes are the generator's, the float64 column sums are
 * bit-identical to the JavaScript loop, the matrix products are bit-identical to a float32 loop in s order
 * (across the chunks they walk s in), and the batch-norm kernel matches tfjs-backend-cpu.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { assembleHeapKernels } from '../../../../scripts/build-wasm.ts';
import { loadWasmBackend } from '../load-wasm-backend.ts';
import { HEAP_KERNELS_SHARED_WASM_BASE64, HEAP_KERNELS_WASM_BASE64 } from './heap-kernels-wasm.ts';
import { heapKernels, offsetOf } from './heap-kernels.ts';
import { sumRows } from './reduce-leading-axes.ts';

describe('heap kernels', () => {
  beforeAll(async () => {
    await loadWasmBackend();
  });

  it('embeds what heap-kernels-wat.ts generates (run `npm run build:wasm` after editing it)', async () => {
    const [plain, shared] = await assembleHeapKernels();
    expect([plain.toString('base64'), shared.toString('base64')]).toEqual([
      HEAP_KERNELS_WASM_BASE64,
      HEAP_KERNELS_SHARED_WASM_BASE64,
    ]);
  });

  // Widths around the 16-column strips and their 4-column remainder; 1 row and many rows.
  it.each([
    [1, 4],
    [5, 16],
    [7, 20],
    [33, 64],
    [300, 68],
    [2, 512],
  ])('sum_rows of [%i, %i] is bit-identical to the float64 JavaScript loop', async (rows, cols) => {
    await tf.setBackend('wasm');
    const wasm = tf.engine().backend as unknown as BackendWasm;
    const x = tf.tidy(() =>
      tf.mul(
        tf.randomNormal([rows, cols], 0, 1, 'float32', rows),
        tf.pow(10, tf.randomUniform([rows, cols], -3, 3)),
      ),
    );
    const xInfo = { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    const out = wasm.makeOutput([cols], 'float32');
    heapKernels(wasm).sum_rows(offsetOf(wasm, xInfo), rows, cols, offsetOf(wasm, out), 1 / 3, cols);
    const got = new Float32Array(wasm.typedArrayFromHeap(out) as Float32Array);
    const want = new Float32Array(cols);
    sumRows(x.dataSync() as Float32Array, rows, cols, 1 / 3, want);
    expect(Array.from(got)).toEqual(Array.from(want));
    wasm.disposeData(out.dataId);
    x.dispose();
  });

  // t = 600: four chunks of 128 and one of 88; t = 5: one partial chunk. Accumulating: the sums start
  // from z's values.
  it.each([
    ['matmul', 600, 8, 16, 0],
    ['outer_sums', 600, 12, 24, 0],
    ['matmul', 5, 4, 8, 0],
    ['outer_sums', 5, 4, 8, 0],
    ['matmul', 300, 4, 16, 1],
    ['outer_sums', 300, 8, 8, 1],
  ] as const)(
    '%s with t = %i, [%i, %i] output, accumulate %i: bit-identical to a float32 loop in s order',
    async (kernel, t, m, n, accumulate) => {
      await tf.setBackend('wasm');
      const wasm = tf.engine().backend as unknown as BackendWasm;
      const transposed = kernel === 'outer_sums';
      const a = tf.randomNormal(transposed ? [t, m] : [m, t], 0, 1, 'float32', t + m);
      const b = tf.randomNormal([t, n], 0, 1, 'float32', t + n);
      const z = wasm.makeOutput([m, n], 'float32');
      const start = Float32Array.from({ length: m * n }, (_, e) => (accumulate ? Math.fround(e / 7 - 3) : 0));
      (wasm.typedArrayFromHeap(z) as Float32Array).set(start);
      const info = (x: tf.Tensor) => ({ dataId: x.dataId, shape: x.shape, dtype: x.dtype });
      heapKernels(wasm)[kernel](
        offsetOf(wasm, info(a)),
        offsetOf(wasm, info(b)),
        offsetOf(wasm, z),
        t,
        m,
        n,
        accumulate,
      );
      const got = Array.from(wasm.typedArrayFromHeap(z) as Float32Array);
      const [av, bv] = [a.dataSync(), b.dataSync()];
      const want = Array.from({ length: m * n }, (_, e) => {
        const [i, j] = [Math.floor(e / n), e % n];
        let acc = start[e];
        for (let s = 0; s < t; s++) {
          const x = transposed ? av[s * m + i] : av[i * t + s];
          acc = Math.fround(acc + Math.fround(x * bv[s * n + j]));
        }
        return acc;
      });
      expect(got).toEqual(want);
      wasm.disposeData(z.dataId);
      tf.dispose([a, b]);
    },
  );

  it.each([
    ['affine, 8 channels', [2, 3, 5, 8], true],
    ['affine, 20 channels (strip remainder)', [1, 4, 4, 20], true],
    ['no offset or scale', [3, 2, 2, 12], false],
    ['6 channels (stock fallback)', [2, 3, 3, 6], true],
    ['large mean, small variance', [2, 4, 4, 8], true],
  ] as const)('FusedBatchNorm %s matches tfjs-backend-cpu', async (name, shape, affine) => {
    const run = () =>
      tf.tidy(() => {
        const c = shape[3];
        let x = tf.randomNormal([...shape], 0, 1, 'float32', 8);
        if (name.startsWith('large mean')) x = tf.add(tf.mul(x, 1e-3), 1e3);
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        const gamma = affine ? tf.randomUniform([c], 0.5, 2, 'float32', 9) : undefined;
        const beta = affine ? tf.randomNormal([c], 0, 1, 'float32', 10) : undefined;
        return tf.batchNorm(x, mean, variance, beta, gamma, 1e-5).dataSync() as Float32Array;
      });
    await tf.setBackend('cpu');
    const want = run();
    await tf.setBackend('wasm');
    const got = run();
    const maxErr = got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
    expect(maxErr).toBeLessThanOrEqual(2e-5 * Math.max(...want.map(Math.abs)));
  });
});
