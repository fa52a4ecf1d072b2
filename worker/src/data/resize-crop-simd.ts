/**
 * resizeCrop's two passes (augment-ops.ts) for RGB crops in WebAssembly SIMD (resize-crop.wat), given the
 * filter taps the JavaScript path computes. Returns false, and the caller uses the JavaScript passes,
 * where SIMD is unavailable, the image is not RGB or the output row is not a multiple of 4 floats.
 * One module instance per thread; its memory holds [crop rows (uint8) | rows resized along x | output | taps].
 */
import type { CropBox } from './augment-params.ts';
import type { SourceImage } from './dataset.ts';
import { lazyWasmExports } from '../util/lazy-wasm.ts';
import { RESIZE_CROP_WASM_BASE64 } from './resize-crop-wasm.ts';

/** Filter taps of a 1-D resize: output o reads `count[o]` inputs from `start[o]` with `weights`. */
export interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array; // [out, maxTaps]
  maxTaps: number;
}

interface Kernels {
  memory: WebAssembly.Memory;
  resize_h3(
    src: number,
    srcRow: number,
    rows: number,
    dst: number,
    out: number,
    starts: number,
    counts: number,
    weights: number,
    maxTaps: number,
  ): void;
  resize_v(
    src: number,
    dst: number,
    out: number,
    row: number,
    first: number,
    starts: number,
    counts: number,
    weights: number,
    maxTaps: number,
  ): void;
}

const load = lazyWasmExports<Kernels>(RESIZE_CROP_WASM_BASE64);

const align = (n: number) => Math.ceil((n + 16) / 16) * 16; // 16 spare bytes, then 16-byte aligned

/** Writes the crop `box` of `img` resized to [size, size, 3] with taps `hx`, `vy` into `out`. */
export function resizeCropSimd(
  img: SourceImage,
  channels: number,
  box: CropBox,
  size: number,
  hx: Taps,
  vy: Taps,
  out: Float32Array,
): boolean {
  const k = channels === 3 && (size * 3) % 4 === 0 ? load() : null;
  if (!k) return false;
  const srcRow = img.width * 3;
  const rowLen = size * 3;
  const src = 0;
  const tmp = align(box.h * srcRow);
  const dst = tmp + align(box.h * rowLen * 4);
  const taps = dst + align(size * rowLen * 4);
  const hxW = taps + 8 * size;
  const vyS = hxW + align(4 * size * hx.maxTaps);
  const vyW = vyS + 8 * size;
  const need = vyW + align(4 * size * vy.maxTaps);
  if (k.memory.buffer.byteLength < need)
    k.memory.grow(Math.ceil((need - k.memory.buffer.byteLength) / 65536));
  const buf = k.memory.buffer;
  new Uint8Array(buf).set(img.data.subarray(box.top * srcRow, (box.top + box.h) * srcRow), src);
  new Int32Array(buf, taps, size).set(hx.start);
  new Int32Array(buf, taps + 4 * size, size).set(hx.count);
  new Float32Array(buf, hxW, size * hx.maxTaps).set(hx.weights);
  new Int32Array(buf, vyS, size).set(vy.start);
  new Int32Array(buf, vyS + 4 * size, size).set(vy.count);
  new Float32Array(buf, vyW, size * vy.maxTaps).set(vy.weights);
  k.resize_h3(src, srcRow, box.h, tmp, size, taps, taps + 4 * size, hxW, hx.maxTaps);
  k.resize_v(tmp, dst, size, rowLen, box.top, vyS, vyS + 4 * size, vyW, vy.maxTaps);
  out.set(new Float32Array(buf, dst, size * rowLen));
  return true;
}
