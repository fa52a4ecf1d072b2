/**
 * FusedBatchNorm (tf.batchNorm) for the wasm backend: one SIMD pass over x (heap-kernels.ts `normalize`)
 * with the per-channel scale gamma / sqrt(var + eps) computed once in float64. The stock kernel took
 * ~8 ms per call on the resnet18-cifar step's layers (~0.3 s of a 2-thread JCL step; docs/BENCHMARKS.md).
 * Falls back to the stock kernel unless x is float32 NHWC-like ([..., C], C a multiple of 4) and mean,
 * variance, offset and scale are float32 vectors of length C (offset and scale may be absent).
 */
import { util, type KernelBackend, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapKernels, offsetOf } from './heap-kernels.ts';

type BatchNormArgs = {
  inputs: { x: TensorInfo; mean: TensorInfo; variance: TensorInfo; offset?: TensorInfo; scale?: TensorInfo };
  backend: KernelBackend;
  attrs: { varianceEpsilon: number };
};

/** True when every per-channel input is a float32 vector of the channel count (absent ones allowed). */
function perChannel(c: number, ...infos: Array<TensorInfo | undefined>): boolean {
  return infos.every((t) => t === undefined || (t.dtype === 'float32' && util.sizeFromShape(t.shape) === c));
}

/**
 * The table of heap-kernels' `normalize`: [mean, gamma / sqrt(var + eps), beta], three rows of `c`
 * float32 values (also used by batch-norm-train.ts).
 */
export function normalizeTable(
  mean: Float32Array,
  variance: Float32Array,
  gamma: Float32Array | undefined,
  beta: Float32Array | undefined,
  eps: number,
  out: Float32Array,
): void {
  const c = mean.length;
  for (let i = 0; i < c; i++) {
    out[i] = mean[i];
    out[c + i] = (gamma === undefined ? 1 : gamma[i]) / Math.sqrt(variance[i] + eps);
    out[2 * c + i] = beta === undefined ? 0 : beta[i];
  }
}

/** Build the kernel around `fallback` (the stock FusedBatchNorm). */
export function makeBatchNormWasm(fallback: KernelFunc): (args: BatchNormArgs) => TensorInfo {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x, mean, variance, offset, scale } = inputs;
    const c = x.shape[x.shape.length - 1];
    if (x.dtype !== 'float32' || c % 4 !== 0 || !perChannel(c, mean, variance, offset, scale)) {
      return fallback(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const wasm = backend as unknown as BackendWasm;
    const y = wasm.makeOutput(x.shape, 'float32');
    const mst = wasm.makeOutput([3 * c], 'float32');
    try {
      // Views are taken after the allocations: growing the heap detaches earlier ones.
      const view = (t: TensorInfo | undefined) =>
        t === undefined ? undefined : (wasm.typedArrayFromHeap(t) as Float32Array);
      normalizeTable(
        view(mean)!,
        view(variance)!,
        view(scale),
        view(offset),
        attrs.varianceEpsilon,
        view(mst)!,
      );
      const rows = util.sizeFromShape(x.shape) / c;
      heapKernels(wasm).normalize(offsetOf(wasm, x), rows, c, offsetOf(wasm, mst), offsetOf(wasm, y));
      return y;
    } finally {
      backend.disposeData(mst.dataId);
    }
  };
}
