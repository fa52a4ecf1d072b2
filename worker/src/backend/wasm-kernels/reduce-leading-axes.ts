/**
 * Sum and Mean for the wasm backend when the reduced axes are the leading ones, as in batch-norm
 * statistics and gradients over [N, H, W] of an NHWC tensor. The stock kernels first transpose the
 * reduced axes innermost (a full copy through a generic transpose: ~8 ms for [32, 32, 32, 64]);
 * a ones-vector BatchMatMul is worse (~40 ms: XNNPACK repacks the fresh operand as weights). One
 * JavaScript pass over the wasm heap with float64 accumulators takes ~3.5 ms and is more accurate; the
 * same pass in SIMD WebAssembly (heap-kernels.ts `sum_rows`, bit-identical) runs when the row length is a
 * multiple of 4, as it is for every batch-norm layer.
 */
import { util, type KernelBackend, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapKernels, offsetOf } from './heap-kernels.ts';

type ReduceArgs = {
  inputs: { x: TensorInfo };
  backend: KernelBackend;
  attrs: { axis: number | number[]; keepDims: boolean };
};

/** Number of leading axes reduced when `axis` is exactly [0, k) with 0 < k < rank; otherwise 0. */
export function leadingAxesCount(axis: number | number[], rank: number): number {
  const axes = util.parseAxisParam(axis, new Array<number>(rank).fill(1)).sort((a, b) => a - b);
  const contiguousPrefix = axes.every((a, i) => a === i);
  return contiguousPrefix && axes.length < rank ? axes.length : 0;
}

/** Column sums of a row-major [rows, cols] matrix, times `scale`. x: [rows, cols] -> out: [cols]. */
export function sumRows(x: Float32Array, rows: number, cols: number, scale: number, out: Float32Array): void {
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) acc[c] += x[base + c];
  }
  for (let c = 0; c < cols; c++) out[c] = acc[c] * scale;
}

/**
 * Build a Sum (`scaleByCount` false) or Mean (true) kernel; `fallback` (the stock kernel) handles
 * every other axis pattern and non-float dtypes.
 */
export function makeLeadingReduceWasm(
  fallback: KernelFunc,
  scaleByCount: boolean,
): (args: ReduceArgs) => TensorInfo {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    const k = x.dtype === 'float32' ? leadingAxesCount(attrs.axis, x.shape.length) : 0;
    if (k === 0) return fallback(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const wasm = backend as unknown as BackendWasm;
    const rows = util.sizeFromShape(x.shape.slice(0, k));
    const rest = x.shape.slice(k);
    const cols = util.sizeFromShape(rest);
    const out = wasm.makeOutput(
      attrs.keepDims ? [...new Array<number>(k).fill(1), ...rest] : rest,
      'float32',
    );
    const scale = scaleByCount ? 1 / rows : 1;
    if (cols % 4 === 0) {
      heapKernels(wasm).sum_rows(offsetOf(wasm, x), rows, cols, offsetOf(wasm, out), scale, cols);
      return out;
    }
    // Views are taken after the allocation: growing the heap detaches earlier ones.
    const xs = wasm.typedArrayFromHeap(x) as Float32Array;
    sumRows(xs, rows, cols, scale, wasm.typedArrayFromHeap(out) as Float32Array);
    return out;
  };
}
