import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadWasmBackend } from '../load-wasm-backend.ts';
import { isBroadcastTile } from './tile-broadcast.ts';
import { leadingAxesCount } from './reduce-leading-axes.ts';

/** Run `f` on cpu and on wasm over the same seeded input; return both results. */
async function onBoth(shape: number[], f: (x: tf.Tensor) => tf.Tensor) {
  const results: Array<{ shape: number[]; values: Float32Array }> = [];
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    results.push(
      tf.tidy(() => {
        const y = f(tf.randomUniform(shape, -2, 2, 'float32', 7));
        return { shape: y.shape, values: y.dataSync() as Float32Array };
      }),
    );
  }
  return { cpu: results[0], wasm: results[1] };
}

function expectSame(r: Awaited<ReturnType<typeof onBoth>>, rtol = 1e-5): void {
  expect(r.wasm.shape).toEqual(r.cpu.shape);
  const maxAbs = r.cpu.values.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-6);
  r.wasm.values.forEach((v, i) => expect(Math.abs(v - r.cpu.values[i])).toBeLessThanOrEqual(rtol * maxAbs));
}

describe('fast wasm Tile, Sum and Mean match tfjs-backend-cpu', () => {
  beforeAll(async () => {
    await loadWasmBackend();
  });

  it.each([
    ['BN-style broadcast', [1, 1, 1, 5], [3, 4, 2, 1]],
    ['middle axis', [2, 1, 3], [1, 4, 1]],
    ['real repetition (stock fallback)', [2, 3], [2, 2]],
    ['no-op', [2, 3], [1, 1]],
  ])('Tile %s', async (_name, shape, reps) => {
    expectSame(await onBoth(shape, (x) => tf.tile(x, reps)));
  });

  it.each([
    ['sum [0,1,2]', [3, 4, 5, 6], [0, 1, 2], false, false],
    ['sum [0,1,2] keepDims', [2, 3, 3, 4], [0, 1, 2], true, false],
    ['sum [0] of 2-D', [7, 3], [0], false, false],
    ['sum [0,1,2] of 20 channels (SIMD)', [2, 3, 4, 20], [0, 1, 2], false, false],
    ['mean [0,1,2] of 64 channels (SIMD)', [4, 5, 5, 64], [0, 1, 2], true, true],
    ['sum [1,2] (stock fallback)', [2, 3, 4, 5], [1, 2], false, false],
    ['sum all (stock fallback)', [2, 3, 4], [0, 1, 2], false, false],
    ['mean [0,1,2]', [3, 4, 5, 6], [0, 1, 2], false, true],
    ['mean [1,0] keepDims', [4, 5, 6], [1, 0], true, true],
    ['mean [1,2] (stock fallback)', [2, 3, 4, 5], [1, 2], false, true],
  ] as const)('%s', async (_name, shape, axes, keepDims, mean) => {
    const op = mean ? tf.mean : tf.sum;
    expectSame(await onBoth([...shape], (x) => op(x, [...axes], keepDims)), 1e-4);
  });

  it('classifies the fast cases', () => {
    expect([isBroadcastTile([1, 1, 1, 8], [4, 2, 2, 1]), isBroadcastTile([2, 3], [2, 1])]).toEqual([
      true,
      false,
    ]);
    expect([
      leadingAxesCount([0, 1, 2], 4),
      leadingAxesCount([1, 0], 3),
      leadingAxesCount([1, 2], 4),
      leadingAxesCount(-1, 2),
    ]).toEqual([3, 2, 0, 0]);
  });
});
