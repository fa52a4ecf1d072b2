import { describe, expect, it } from 'vitest';
import { addFromBf16, addScaleFromBf16, copyFromBf16, halvesOf, roundToBf16InPlace, toBf16 } from './bf16.ts';

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
  ])('toBf16: %s', (_, value, want) => {
    const out = new Uint16Array(1);
    toBf16(new Float32Array([value]), out);
    expect(out[0].toString(16)).toBe(want.toString(16));
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
