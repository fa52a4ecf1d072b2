/**
 * The ring all-reduce's element-wise reductions (dst += src; dst = (dst + src) * scale) in WebAssembly SIMD
 * (simd-reduce.wat). The JavaScript loops did ~2 ns per element, about a third of a 45 MB all-reduce's CPU
 * time (docs/BENCHMARKS.md, "Distributed"). Wasm reaches only its own memory, so the arrays go through it
 * in blocks that stay in cache: copy dst and src in, reduce, copy dst out; three memcpys and 4-lane
 * arithmetic beat the scalar loop ~3x. Results are bit-identical to the loops (float32 rounding of every
 * add and multiply). Falls back to the loops where WebAssembly SIMD is unavailable.
 */
import { SIMD_REDUCE_WASM_BASE64 } from './simd-reduce-wasm.ts';

/** Floats per block: two 256 KiB blocks (dst, src) stay in a core's L2 cache. */
const BLOCK = 1 << 16;

interface Kernels {
  add(dst: number, src: number, n: number): void;
  add_scale(dst: number, src: number, n: number, scale: number): void;
  add_scale_pow2(dst: number, src: number, n: number, scale: number): void;
  memory: WebAssembly.Memory;
}

function instantiate(): { k: Kernels; heap: Float32Array } | null {
  const bytes = Buffer.from(SIMD_REDUCE_WASM_BASE64, 'base64');
  if (!WebAssembly.validate(bytes)) return null; // no SIMD in this runtime
  const k = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as Kernels;
  const needPages = Math.ceil((2 * BLOCK * 4) / 65536) - k.memory.buffer.byteLength / 65536;
  if (needPages > 0) k.memory.grow(needPages);
  return { k, heap: new Float32Array(k.memory.buffer, 0, 2 * BLOCK) };
}

const wasm = instantiate();

/** True when the SIMD kernels are in use (false: the plain loops). */
export const simdReduceAvailable = wasm !== null;

/** dst[i] += src[i]. */
export function addInto(dst: Float32Array, src: Float32Array): void {
  checkLengths(dst, src);
  if (wasm === null) return addIntoJs(dst, src);
  const { k } = wasm;
  inBlocks(wasm, dst, src, (n) => k.add(0, BLOCK * 4, n));
}

/** dst[i] = fround(dst[i] + src[i]) * scale, stored as float32. */
export function addScaleInto(dst: Float32Array, src: Float32Array, scale: number): void {
  checkLengths(dst, src);
  if (wasm === null) return addScaleIntoJs(dst, src, scale);
  const { k } = wasm;
  // 1/2, 1/4, ... (the mean over 2, 4, 8 ranks) scale a float32 exactly: multiply in float32 lanes.
  const exp = Math.log2(Math.abs(scale));
  const kernel = Number.isInteger(exp) && exp >= -126 && exp <= 0 ? k.add_scale_pow2 : k.add_scale;
  inBlocks(wasm, dst, src, (n) => kernel(0, BLOCK * 4, n, scale));
}

/** Copy each block of dst and src into the kernels' memory, run `kernel(n)` on it, copy dst back. */
function inBlocks(
  w: { heap: Float32Array },
  dst: Float32Array,
  src: Float32Array,
  kernel: (n: number) => void,
): void {
  for (let off = 0; off < dst.length; off += BLOCK) {
    const len = Math.min(BLOCK, dst.length - off);
    w.heap.set(dst.subarray(off, off + len), 0);
    w.heap.set(src.subarray(off, off + len), BLOCK);
    kernel(len);
    dst.set(w.heap.subarray(0, len), off);
  }
}

function checkLengths(dst: Float32Array, src: Float32Array): void {
  if (src.length !== dst.length)
    throw new RangeError(`reduce: src has ${src.length} elements, dst ${dst.length}`);
}

/** The reference loops (also the fallback). Small and monomorphic so V8 optimises them on their own. */
export function addIntoJs(dst: Float32Array, src: Float32Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}

export function addScaleIntoJs(dst: Float32Array, src: Float32Array, scale: number): void {
  for (let i = 0; i < dst.length; i++) dst[i] = Math.fround(dst[i] + src[i]) * scale;
}
