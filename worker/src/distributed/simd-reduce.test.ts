import { describe, expect, it } from 'vitest';
import { SIMD_REDUCE_WASM_BASE64 } from './simd-reduce-wasm.ts';
import { addInto, addIntoJs, addScaleInto, addScaleIntoJs, simdReduceAvailable } from './simd-reduce.ts';
import { assemble } from '../../../scripts/build-wasm.ts';

/** Random float32 values over many magnitudes, with the awkward ones sprinkled in. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0;
  const special = [0, -0, 1e-45, -1e-40, 3.4e38, -3.4e38, Infinity, -Infinity, NaN, 1, -1];
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    if (x % 53 === 0) out[i] = special[x % special.length];
    else out[i] = (x / 2 ** 32 - 0.5) * 10 ** ((x % 16) - 8);
  }
  return out;
}

/** Bitwise equality, except that any NaN equals any NaN (payloads may differ between engines' paths). */
function expectSameFloats(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  let bad = -1;
  for (let i = 0; i < got.length && bad < 0; i++) {
    if (g[i] !== w[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) bad = i;
  }
  expect(bad, bad >= 0 ? `element ${bad}: got ${got[bad]}, want ${want[bad]}` : '').toBe(-1);
}

describe('SIMD reductions of the all-reduce', () => {
  it('run in WebAssembly SIMD on this Node', () => {
    expect(simdReduceAvailable).toBe(true);
  });

  // Lengths around the 16-lane unrolled loop, the scalar tail and the 65536-element blocks.
  const lengths = [0, 1, 3, 15, 16, 17, 33, 1000, 65536, 65536 + 7, 3 * 65536 + 19];

  it.each(lengths)('dst += src is bit-identical to the float32 loop (n = %i)', (n) => {
    const a = values(n, n + 1);
    const b = values(n, n + 2);
    const got = a.slice();
    const want = a.slice();
    addInto(got, b);
    addIntoJs(want, b);
    expectSameFloats(got, want);
  });

  it.each([0.5, 0.25, 0.125, 1, 1 / 3, 1 / 6, 1 / 7, 0.1])(
    'dst = (dst + src) * %f is bit-identical to Math.fround(d + s) * scale',
    (scale) => {
      for (const n of lengths) {
        const a = values(n, n + 3);
        const b = values(n, n + 4);
        const got = a.slice();
        const want = a.slice();
        addScaleInto(got, b, scale);
        addScaleIntoJs(want, b, scale);
        expectSameFloats(got, want);
      }
    },
  );

  it('works on views at any offset and refuses mismatched lengths', () => {
    const base = values(1000, 9);
    const other = values(1000, 10);
    const got = base.slice();
    const want = base.slice();
    addScaleInto(got.subarray(3, 700), other.subarray(5, 702), 1 / 3);
    addScaleIntoJs(want.subarray(3, 700), other.subarray(5, 702), 1 / 3);
    expectSameFloats(got, want);
    expect(() => addInto(new Float32Array(4), new Float32Array(5))).toThrow(
      'reduce: src has 5 elements, dst 4',
    );
  });

  it('embeds exactly what simd-reduce.wat assembles to (run `npm run build:wasm` after editing it)', async () => {
    const wat = new URL('./simd-reduce.wat', import.meta.url).pathname;
    const bytes = await assemble(wat);
    expect(bytes.toString('base64')).toBe(SIMD_REDUCE_WASM_BASE64);
  });
});
