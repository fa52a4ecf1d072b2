/**
 * Sum and Mean for the wasm backend when the reduced axes are the leading ones, as in batch-norm
 * statistics and gradients over [N, H, W] of an NHWC tensor. The stock kernels first transpose the
 * reduced axes innermost (a full copy with a slow generic transpose); here the reduction is one
 * matrix product ones[1, M] @ x[M, C], which the wasm BatchMatMul runs at memory speed.
 */
import { util, type KernelBackend, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { callWasmKernel, matMulInfo, releaseAll, reshapeInfo } from './call-wasm-kernel.ts';

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
    const m = util.sizeFromShape(x.shape.slice(0, k));
    const rest = x.shape.slice(k);
    const c = util.sizeFromShape(rest);
    const temps: TensorInfo[] = [];
    try {
      const ones = callWasmKernel('Fill', backend, {}, { shape: [1, m], value: scaleByCount ? 1 / m : 1, dtype: 'float32' });
      temps.push(ones);
      const x2 = reshapeInfo(backend, x, [m, c]); // x2: [M, C]
      temps.push(x2);
      const row = matMulInfo(backend, ones, x2); // row: [1, C]
      temps.push(row);
      const outShape = attrs.keepDims ? [...new Array<number>(k).fill(1), ...rest] : rest;
      return reshapeInfo(backend, row, outShape);
    } finally {
      releaseAll(backend, temps);
    }
  };
}
