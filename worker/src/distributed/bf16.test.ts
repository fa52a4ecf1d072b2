import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { assemble } from '../../../scripts/build-wasm.ts';
import { BF16_WASM_BASE64 } from './bf16-wasm.ts';
import {
  addFromBf16,
  addFromBf16Js,
  addScaleFromBf16,
  bf16SimdAvailable,
  copyFromBf16,
  copyFromBf16Js,
  halvesOf,
  roundToBf16InPlace,
  roundToBf16InPlaceJs,
  toBf16,
  toBf16Js,
} from './bf16.ts';

const f32 = (bits: number): number => new Float32Array(new Uint32Array([bits]).buffer)[0];

describe('bfloat16 conversions', () => {
  it.each([
    ['1', 1, 0x3f80],
    ['-2', -2, 0xc000],
    ['zero', 0, 0x0000],
    ['negative zero', -0, 0x8000],
    ['+inf', Infinity, 0x7f80],
    ['-inf', -Infinity, 0xff80],
    ['just below a tie rounds down', f32(0x3f807fff), 0x3f80],
    ['a tie rounds to even (down)', f32(0x3f808000), 0x3f80],
    ['a tie rounds to even (up)', f32(0x3f818000), 0x3f82],
    ['just above a tie rounds up', f32(0x3f808001), 0x3f81],
    ['float32 max overflows to inf', f32(0x7f7fffff), 0x7f80],
    ['smallest subnormal rounds to zero', f32(0x00000001), 0x0000],
    ['subnormal keeps its upper bits', f32(0x00400000), 0x0040],
  ])('toBf16 (SIMD and the JavaScript loop): %s', (_, value, want) => {
    for (const convert of [toBf16, toBf16Js]) {
      const out = new Uint16Array(1);
      convert(new Float32Array([value]), out);
      expect(out[0].toString(16)).toBe(want.toString(16));
    }
  });

  it('keeps NaN a NaN, even one whose payload sits only in the low bits', () => {
    const out = new Uint16Array(2);
    toBf16(new Float32Array([NaN, f32(0x7f800001)]), out);
    const back = new Float32Array(2);
    copyFromBf16(back, out);
    expect(Number.isNaN(back[0]) && Number.isNaN(back[1])).toBe(true);
  });

  it('round-trips bfloat16 values exactly and rounds others within half an ulp (2^-8 relative: 8 significant bits)', () => {
    const xs = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10 ** ((i % 13) - 6));
    const h = new Uint16Array(xs.length);
    toBf16(xs, h);
    const back = new Float32Array(xs.length);
    copyFromBf16(back, h);
    const again = new Uint16Array(xs.length);
    toBf16(back, again);
    expect(again).toEqual(h);
    for (let i = 0; i < xs.length; i++)
      expect(Math.abs(back[i] - xs[i])).toBeLessThanOrEqual(Math.abs(xs[i]) * 2 ** -8);
    const rounded = xs.slice();
    roundToBf16InPlace(rounded);
    expect(rounded).toEqual(back);
  });

  it('accumulates in float32: adding 1/256 sixteen times to 1 gives 1.0625, not 1 (as bfloat16 sums would)', () => {
    const acc = new Float32Array([1]);
    const step = new Uint16Array(1);
    toBf16(new Float32Array([1 / 256]), step);
    for (let i = 0; i < 16; i++) addFromBf16(acc, step);
    expect(acc[0]).toBe(1.0625);
    addScaleFromBf16(acc, step, 0.5);
    expect(acc[0]).toBe(Math.fround(1.0625 + 1 / 256) * 0.5);
  });

  it('halvesOf views aligned payloads and copies odd-offset ones', () => {
    const mem = new Uint8Array(9);
    new Uint16Array(mem.buffer, 2, 2).set([0x3f80, 0xc000]);
    expect(halvesOf(mem.subarray(2, 6), { buf: new Uint16Array(0) }).buffer).toBe(mem.buffer);
    mem.copyWithin(3, 2, 6);
    const copy = halvesOf(mem.subarray(3, 7), { buf: new Uint16Array(0) });
    expect(copy.buffer).not.toBe(mem.buffer);
    expect([...copy]).toEqual([0x3f80, 0xc000]);
    expect(() => halvesOf(mem.subarray(0, 3), { buf: new Uint16Array(0) })).toThrow(
      /multiple of 2 bytes, got 3/,
    );
  });

  it('rejects arrays of different lengths, naming both', () => {
    expect(() => toBf16(new Float32Array(3), new Uint16Array(2))).toThrow(/3 and 2 elements/);
  });
});

/** Values over many magnitudes with the awkward ones (NaNs, infinities, subnormals, ties) mixed in. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  const bits = new Uint32Array(out.buffer);
  let x = seed >>> 0;
  const special = [
    0, 0x80000000, 1, 0x7f7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0x3f808000, 0x3f818000,
  ];
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    if (x % 29 === 0) bits[i] = special[x % special.length];
    else out[i] = (x / 2 ** 32 - 0.5) * 10 ** ((x % 16) - 8);
  }
  return out;
}

/** Bitwise equality, except that any NaN equals any NaN. */
function expectSameFloats(got: Float32Array, want: Float32Array): void {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  let bad = -1;
  for (let i = 0; i < got.length && bad < 0; i++)
    if (g[i] !== w[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) bad = i;
  expect(bad, bad >= 0 ? `element ${bad}: got ${got[bad]}, want ${want[bad]}` : '').toBe(-1);
}

describe('bfloat16 conversions in WebAssembly SIMD', () => {
  it('run in SIMD on this Node', () => {
    expect(bf16SimdAvailable()).toBe(true);
  });

  it('embed exactly what bf16.wat assembles to (run `npm run build:wasm` after editing it)', async () => {
    const bytes = await assemble(fileURLToPath(new URL('./bf16.wat', import.meta.url)));
    expect(bytes.toString('base64')).toBe(BF16_WASM_BASE64);
  });

  // Around the 8- and 4-lane loops, their scalar tails and the 65536-element blocks.
  const lengths = [0, 1, 3, 4, 7, 8, 9, 17, 1000, 65536, 65536 + 5, 2 * 65536 + 13];

  it.each(lengths)('are bit-identical to the JavaScript loops (n = %i)', (n) => {
    const a = values(n, n + 1);
    const b = values(n, n + 7);
    const hSimd = new Uint16Array(n);
    const hJs = new Uint16Array(n);
    toBf16(a, hSimd);
    toBf16Js(a, hJs);
    expect(hSimd).toEqual(hJs);
    for (const [simd, js] of [
      [addFromBf16, addFromBf16Js],
      [copyFromBf16, copyFromBf16Js],
      [(d: Float32Array, s: Uint16Array) => addScaleFromBf16(d, s, 1 / 3), null],
    ] as const) {
      const x = b.slice();
      simd(x, hSimd);
      const y = b.slice();
      if (js) js(y, hJs);
      else {
        const wide = new Float32Array(n);
        copyFromBf16Js(wide, hJs);
        for (let i = 0; i < n; i++) y[i] = Math.fround(y[i] + wide[i]) * (1 / 3);
      }
      expectSameFloats(x, y);
    }
    const r1 = a.slice();
    const r2 = a.slice();
    roundToBf16InPlace(r1);
    roundToBf16InPlaceJs(r2);
    expectSameFloats(r1, r2);
  });
});
