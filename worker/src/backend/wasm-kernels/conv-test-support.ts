/** Shared by the convolution kernel tests (winograd-conv.test.ts, im2col-conv.test.ts). */
import { expect } from 'vitest';

/** A tfjs conv2d padding. */
export type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/** Explicit padding of (top, bottom, left, right). */
export const explicit = (t: number, b: number, l: number, r: number): Pad => [
  [0, 0],
  [t, b],
  [l, r],
  [0, 0],
];

/** max |a - b| <= rtol * max |b|, reported with the numbers on failure. */
export function expectClose(actual: Float32Array, expected: Float32Array, rtol: number): void {
  expect(actual.length).toBe(expected.length);
  const maxAbs = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-6);
  const maxErr = actual.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0);
  expect({ maxErr, bound: rtol * maxAbs, ok: maxErr <= rtol * maxAbs }).toMatchObject({ ok: true });
}
