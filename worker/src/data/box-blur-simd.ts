/**
 * The six box passes of gaussianBlur (augment-ops.ts) on RGB images in WebAssembly SIMD (box-blur.wat):
 * the blur is the costliest MoCo v2 op in plain JavaScript (bench/loader/profile-augment.ts). Returns
 * false, and the caller uses the JavaScript passes, where SIMD is unavailable or the image is not RGB.
 * One module instance per thread; its memory holds [image | spare | image | spare | row sums].
 */
import { lazyWasmExports } from '../util/lazy-wasm.ts';
import { BOX_BLUR_WASM_BASE64 } from './box-blur-wasm.ts';

interface Kernels {
  memory: WebAssembly.Memory;
  box_h3(src: number, dst: number, n: number, l: number, a: number, inv: number): void;
  box_v(
    src: number,
    dst: number,
    acc: number,
    n: number,
    row: number,
    l: number,
    a: number,
    inv: number,
  ): void;
}

const load = lazyWasmExports<Kernels>(BOX_BLUR_WASM_BASE64);

const SPARE = 16; // bytes after each region: box_h3's last 4-lane store and load run one float past

/** Three horizontal then three vertical passes of radius `radius` on px [n, n, 3], in place. */
export function boxBlurSimd(px: Float32Array, n: number, channels: number, radius: number): boolean {
  const k = channels === 3 ? load() : null;
  if (!k) return false;
  const bytes = px.length * 4;
  const src = 0;
  const dst = bytes + SPARE;
  const acc = 2 * (bytes + SPARE);
  const need = acc + n * channels * 4 + SPARE;
  if (k.memory.buffer.byteLength < need)
    k.memory.grow(Math.ceil((need - k.memory.buffer.byteLength) / 65536));
  const mem = new Float32Array(k.memory.buffer);
  mem.set(px, src / 4);
  const l = Math.floor(radius);
  const a = radius - l;
  const inv = 1 / (2 * radius + 1);
  k.box_h3(src, dst, n, l, a, inv);
  k.box_h3(dst, src, n, l, a, inv);
  k.box_h3(src, dst, n, l, a, inv);
  k.box_v(dst, src, acc, n, n * 3, l, a, inv);
  k.box_v(src, dst, acc, n, n * 3, l, a, inv);
  k.box_v(dst, src, acc, n, n * 3, l, a, inv);
  px.set(mem.subarray(src / 4, src / 4 + px.length));
  return true;
}
