import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadWasmBackend } from '../load-wasm-backend.ts';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  name: string;
  x: [number, number, number, number];
  k: [number, number];
  cout: number;
  stride: number | [number, number];
  pad: Pad;
}

const explicit = (t: number, b: number, l: number, r: number): Pad => [
  [0, 0],
  [t, b],
  [l, r],
  [0, 0],
];

// Small random shapes: strides 1/2, SAME/VALID/explicit padding, batch 1, odd sizes, 1x1/3x3/7x7.
const CASES: Case[] = [
  { name: '3x3 s1 same', x: [2, 8, 8, 4], k: [3, 3], cout: 5, stride: 1, pad: 'same' },
  { name: '3x3 s2 same even', x: [2, 8, 8, 3], k: [3, 3], cout: 4, stride: 2, pad: 'same' },
  { name: '3x3 s2 same odd', x: [1, 9, 7, 3], k: [3, 3], cout: 6, stride: 2, pad: 'same' },
  { name: '3x3 s1 valid odd', x: [1, 7, 9, 2], k: [3, 3], cout: 3, stride: 1, pad: 'valid' },
  { name: '3x3 s2 valid even', x: [2, 10, 8, 3], k: [3, 3], cout: 2, stride: 2, pad: 'valid' },
  {
    name: '3x3 s1 same, 32 channels (conv form)',
    x: [2, 5, 6, 32],
    k: [3, 3],
    cout: 4,
    stride: 1,
    pad: 'same',
  },
  { name: '1x1 s1', x: [3, 5, 5, 6], k: [1, 1], cout: 7, stride: 1, pad: 'valid' },
  { name: '1x1 s2 shortcut', x: [2, 8, 8, 4], k: [1, 1], cout: 8, stride: 2, pad: 'valid' },
  { name: '1x1 s2 odd', x: [1, 7, 7, 3], k: [1, 1], cout: 2, stride: 2, pad: 'same' },
  { name: '7x7 s2 explicit 3', x: [1, 17, 15, 3], k: [7, 7], cout: 4, stride: 2, pad: explicit(3, 3, 3, 3) },
  { name: '3x3 s1 explicit asym', x: [2, 6, 7, 2], k: [3, 3], cout: 3, stride: 1, pad: explicit(1, 0, 2, 1) },
  { name: '3x3 mixed strides', x: [1, 9, 8, 2], k: [3, 2], cout: 3, stride: [2, 1], pad: 'same' },
  {
    name: '3x3 s1 pad wider than filter (stock fallback)',
    x: [1, 6, 6, 2],
    k: [3, 3],
    cout: 2,
    stride: 1,
    pad: explicit(3, 1, 0, 0),
  },
];

/** Seeded inputs so both backends see the same numbers. */
function inputsFor(c: Case, seed: number) {
  const ho = tf.tidy(() => {
    const y = tf.conv2d(
      tf.zeros(c.x) as tf.Tensor4D,
      tf.zeros([...c.k, c.x[3], c.cout]) as tf.Tensor4D,
      c.stride,
      c.pad,
    );
    return y.shape;
  });
  return {
    x: tf.randomUniform(c.x, -1, 1, 'float32', seed).dataSync().slice(),
    w: tf
      .randomUniform([...c.k, c.x[3], c.cout], -1, 1, 'float32', seed + 1)
      .dataSync()
      .slice(),
    dy: tf
      .randomUniform(ho, -1, 1, 'float32', seed + 2)
      .dataSync()
      .slice(),
    yShape: ho as [number, number, number, number],
  };
}

/** dx and dw through the registered kernels of the active backend. */
function gradsOn(c: Case, data: ReturnType<typeof inputsFor>): { dx: Float32Array; dw: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor4d(data.x, c.x);
    const w = tf.tensor4d(data.w, [...c.k, c.x[3], c.cout]);
    const dy = tf.tensor4d(data.dy, data.yShape);
    const dx = tf.conv2dTranspose(dy, w, c.x, c.stride, c.pad);
    const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
      strides: c.stride,
      pad: c.pad,
      dataFormat: 'NHWC',
      dimRoundingMode: undefined,
      filterShape: w.shape,
    } as never) as tf.Tensor;
    return { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

/** max |a - b| <= rtol * max |b| (closeness relative to the largest magnitude). */
function expectClose(actual: Float32Array, expected: Float32Array, rtol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  let maxAbs = 0;
  let maxErr = 0;
  for (let i = 0; i < expected.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
    maxErr = Math.max(maxErr, Math.abs(actual[i] - expected[i]));
  }
  expect(maxErr).toBeLessThanOrEqual(rtol * Math.max(maxAbs, 1e-6));
}

describe('fast wasm conv gradient kernels match tfjs-backend-cpu', () => {
  beforeAll(async () => {
    await loadWasmBackend();
  });

  it.each(CASES.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    await tf.setBackend('cpu');
    const data = inputsFor(c, 100 + i * 7);
    const expected = gradsOn(c, data);
    await tf.setBackend('wasm');
    const actual = gradsOn(c, data);
    expectClose(actual.dx, expected.dx);
    expectClose(actual.dw, expected.dw);
  });
});
