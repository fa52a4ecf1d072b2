/**
 * bfloat16 on the wire, float32 in memory: the conversions of the bfloat16 gradient all-reduce
 * (`dist.gradientDtype: bfloat16`). A bfloat16 is the upper half of a float32 (sign, 8-bit exponent, 7-bit
 * mantissa), so it keeps float32's range and loses precision only: float32 -> bfloat16 rounds to nearest,
 * ties to even (as PyTorch's and TPUs' conversion does), bfloat16 -> float32 is exact. The ring adds every
 * received bfloat16 value into a float32 accumulator (ring-collective.ts), so only the values on the wire
 * are rounded, never the running sums. Pure functions over typed arrays, no I/O. The conversions run in
 * WebAssembly SIMD (bf16.wat) in cache-sized blocks, bit-identical to the JavaScript loops kept here as
 * the reference and the fallback (the loops cost ~5x more per element; docs/BENCHMARKS.md, issue 17).
 */
import { lazyWasmExports } from '../util/lazy-wasm.ts';
import { BF16_WASM_BASE64 } from './bf16-wasm.ts';
import { addInto, addScaleInto } from './simd-reduce.ts';

/** The element types gradients can travel in. */
export const GRADIENT_DTYPES = ['float32', 'bfloat16'] as const;
export type GradientDtype = (typeof GRADIENT_DTYPES)[number];

/** Bytes per element on the wire. */
export function wireBytesPerElement(dtype: GradientDtype): number {
  return dtype === 'bfloat16' ? 2 : 4;
}

function bitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

/** The bfloat16 bits nearest to the float32 with bits `u` (ties to even); NaN stays a (quiet) NaN. */
function roundBits(u: number): number {
  if ((u & 0x7fffffff) > 0x7f800000) return (u >>> 16) | 0x0040;
  return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
}

/** Floats per block of the widening scratch (256 KiB: stays in cache next to the destination). */
const BLOCK = 1 << 16;
const widened = new Float32Array(BLOCK);
const widenedBits = new Uint32Array(widened.buffer);

/** For each block of src: widen it to float32 (exact), then `reduce(dst block, widened block)`. */
function inWidenedBlocks(
  dst: Float32Array,
  src: Uint16Array,
  reduce: (d: Float32Array, s: Float32Array) => void,
): void {
  for (let off = 0; off < dst.length; off += BLOCK) {
    const n = Math.min(BLOCK, dst.length - off);
    for (let i = 0; i < n; i++) widenedBits[i] = src[off + i] << 16;
    reduce(dst.subarray(off, off + n), widened.subarray(0, n));
  }
}

/** out[i] = bfloat16(src[i]), rounding to nearest even (the reference loop, and the fallback). */
export function toBf16Js(src: Float32Array, out: Uint16Array): void {
  checkLengths(src.length, out.length);
  const u = bitsOf(src);
  for (let i = 0; i < u.length; i++) out[i] = roundBits(u[i]);
}

/** values[i] = float32(bfloat16(values[i])) (reference loop). */
export function roundToBf16InPlaceJs(values: Float32Array): void {
  const u = bitsOf(values);
  for (let i = 0; i < u.length; i++) u[i] = (roundBits(u[i]) << 16) >>> 0;
}

/** dst[i] = float32(src[i]) (reference loop). */
export function copyFromBf16Js(dst: Float32Array, src: Uint16Array): void {
  checkLengths(dst.length, src.length);
  const u = bitsOf(dst);
  for (let i = 0; i < u.length; i++) u[i] = src[i] << 16;
}

/** dst[i] += float32(src[i]) (reference: widened in JavaScript, added by simd-reduce.ts). */
export function addFromBf16Js(dst: Float32Array, src: Uint16Array): void {
  checkLengths(dst.length, src.length);
  inWidenedBlocks(dst, src, addInto);
}

/** dst[i] = fround(dst[i] + float32(src[i])) * scale, stored as float32 (the mean's last reduce step). */
export function addScaleFromBf16(dst: Float32Array, src: Uint16Array, scale: number): void {
  checkLengths(dst.length, src.length);
  const w = wasm();
  if (w === null) return inWidenedBlocks(dst, src, (d, s) => addScaleInto(d, s, scale));
  // Widened in wasm, then the float32 add-and-scale of simd-reduce.ts (one rounding rule for both dtypes).
  for (let off = 0; off < dst.length; off += BLOCK) {
    const n = Math.min(BLOCK, dst.length - off);
    w.halves.set(src.subarray(off, off + n));
    w.k.widen(0, BLOCK * 4, n, 0);
    addScaleInto(dst.subarray(off, off + n), w.floats.subarray(0, n), scale);
  }
}

interface Bf16Kernels {
  to_bf16(src: number, dst: number, n: number): void;
  widen(dst: number, src: number, n: number, add: number): void;
  round_in_place(p: number, n: number): void;
  memory: WebAssembly.Memory;
}

const kernels = lazyWasmExports<Bf16Kernels>(BF16_WASM_BASE64);
interface Views {
  k: Bf16Kernels;
  floats: Float32Array;
  halves: Uint16Array;
}
let views: Views | null | undefined;

/** The SIMD kernels with a float32 block at 0 and a uint16 block after it, or null (no SIMD). */
function wasm(): Views | null {
  if (views === undefined) {
    const k = kernels();
    if (k === null) return (views = null);
    const need = Math.ceil((BLOCK * 6) / 65536) - k.memory.buffer.byteLength / 65536;
    if (need > 0) k.memory.grow(need);
    views = {
      k,
      floats: new Float32Array(k.memory.buffer, 0, BLOCK),
      halves: new Uint16Array(k.memory.buffer, BLOCK * 4, BLOCK),
    };
  }
  return views;
}

/** True when the conversions run in WebAssembly SIMD (false: the JavaScript loops). */
export function bf16SimdAvailable(): boolean {
  return wasm() !== null;
}

/** out[i] = bfloat16(src[i]), rounding to nearest even. */
export function toBf16(src: Float32Array, out: Uint16Array): void {
  checkLengths(src.length, out.length);
  const w = wasm();
  if (w === null) return toBf16Js(src, out);
  for (let off = 0; off < src.length; off += BLOCK) {
    const n = Math.min(BLOCK, src.length - off);
    w.floats.set(src.subarray(off, off + n));
    w.k.to_bf16(0, BLOCK * 4, n);
    out.set(w.halves.subarray(0, n), off);
  }
}

/** dst[i] += float32(src[i]), accumulating in float32. */
export function addFromBf16(dst: Float32Array, src: Uint16Array): void {
  widenInto(dst, src, 1);
}

/** dst[i] = float32(src[i]) (exact). */
export function copyFromBf16(dst: Float32Array, src: Uint16Array): void {
  widenInto(dst, src, 0);
}

function widenInto(dst: Float32Array, src: Uint16Array, add: 0 | 1): void {
  checkLengths(dst.length, src.length);
  const w = wasm();
  if (w === null) return add ? addFromBf16Js(dst, src) : copyFromBf16Js(dst, src);
  for (let off = 0; off < dst.length; off += BLOCK) {
    const n = Math.min(BLOCK, dst.length - off);
    if (add) w.floats.set(dst.subarray(off, off + n));
    w.halves.set(src.subarray(off, off + n));
    w.k.widen(0, BLOCK * 4, n, add);
    dst.set(w.floats.subarray(0, n), off);
  }
}

/** values[i] = float32(bfloat16(values[i])): what every rank will hold after a bfloat16 all-gather. */
export function roundToBf16InPlace(values: Float32Array): void {
  const w = wasm();
  if (w === null) return roundToBf16InPlaceJs(values);
  for (let off = 0; off < values.length; off += BLOCK) {
    const n = Math.min(BLOCK, values.length - off);
    w.floats.set(values.subarray(off, off + n));
    w.k.round_in_place(0, n);
    values.set(w.floats.subarray(0, n), off);
  }
}

/**
 * The bfloat16 values of a received payload: a view when 2-byte aligned, else a copy into `scratch` (gRPC
 * payloads start after a variable-length header).
 */
export function halvesOf(payload: Uint8Array, scratch: { buf: Uint16Array }): Uint16Array {
  if (payload.byteLength % 2 !== 0) {
    throw new RangeError(`halvesOf: payload must be a multiple of 2 bytes, got ${payload.byteLength}`);
  }
  const n = payload.byteLength / 2;
  if (payload.byteOffset % 2 === 0) return new Uint16Array(payload.buffer, payload.byteOffset, n);
  if (scratch.buf.length < n) scratch.buf = new Uint16Array(n);
  const out = scratch.buf.subarray(0, n);
  new Uint8Array(out.buffer, out.byteOffset, payload.byteLength).set(payload);
  return out;
}

function checkLengths(a: number, b: number): void {
  if (a !== b) throw new RangeError(`bfloat16 conversion: lengths differ (${a} and ${b} elements)`);
}
