/**
 * Calling registered wasm kernels directly from inside another kernel.
 *
 * A kernelFunc receives and returns `TensorInfo`s (data ids with shapes), not tensors. Going through
 * `tf.*` ops from inside a kernel would create engine-tracked tensors that the gradient tape and the
 * scope bookkeeping then have to be kept away from; calling the backend's own kernel functions keeps
 * everything at the data-id level, the way tfjs-backend-wasm's kernels call each other (its
 * BatchMatMul calls its Reshape). Every intermediate must be released with {@link releaseAll}.
 */
import { getKernel, type KernelBackend, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

/** The wasm backend's kernel functions take and return plain `TensorInfo`s. */
export type WasmInputs = Record<string, TensorInfo> | TensorInfo[];

/**
 * Run the kernel registered as `kernelName` for the 'wasm' backend on `inputs`.
 * Throws when no such kernel is registered (a programming error, not a user error).
 */
export function callWasmKernel(
  kernelName: string,
  backend: KernelBackend,
  inputs: WasmInputs,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const config = getKernel(kernelName, 'wasm');
  if (config === undefined) {
    throw new Error(`wasm kernel ${kernelName} is not registered; expected the wasm backend to be loaded`);
  }
  const out = config.kernelFunc({ inputs: inputs as Record<string, TensorInfo>, attrs, backend });
  return Array.isArray(out) ? out[0] : out;
}

/** Release intermediates produced by {@link callWasmKernel} (reshapes share data and are ref-counted). */
export function releaseAll(backend: KernelBackend, infos: readonly TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** Reshape without copying (the wasm Reshape kernel bumps the ref count of the shared data id). */
export function reshapeInfo(backend: KernelBackend, x: TensorInfo, shape: number[]): TensorInfo {
  return callWasmKernel('Reshape', backend, { x }, { shape });
}

/** Permute dimensions: out.shape[i] = x.shape[perm[i]]. */
export function transposeInfo(backend: KernelBackend, x: TensorInfo, perm: number[]): TensorInfo {
  return callWasmKernel('Transpose', backend, { x }, { perm });
}

/** Zero padding; `paddings[d]` = [before, after] for dimension d, all >= 0. */
export function padInfo(
  backend: KernelBackend,
  x: TensorInfo,
  paddings: Array<[number, number]>,
): TensorInfo {
  return callWasmKernel('PadV2', backend, { x }, { paddings, constantValue: 0 });
}

/** Contiguous slice `x[begin : begin + size]` per dimension. */
export function sliceInfo(
  backend: KernelBackend,
  x: TensorInfo,
  begin: number[],
  size: number[],
): TensorInfo {
  return callWasmKernel('Slice', backend, { x }, { begin, size });
}

/** Strided slice `x[begin : end : strides]` per dimension (end exclusive, no masks). */
export function stridedSliceInfo(
  backend: KernelBackend,
  x: TensorInfo,
  begin: number[],
  end: number[],
  strides: number[],
): TensorInfo {
  return callWasmKernel(
    'StridedSlice',
    backend,
    { x },
    { begin, end, strides, beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 },
  );
}

/** Concatenate along `axis`. */
export function concatInfo(backend: KernelBackend, xs: TensorInfo[], axis: number): TensorInfo {
  return callWasmKernel('Concat', backend, xs, { axis });
}

/** Matrix product a @ b of rank-2 (or batched) operands, no transposes (the fast wasm path). */
export function matMulInfo(backend: KernelBackend, a: TensorInfo, b: TensorInfo): TensorInfo {
  return callWasmKernel('BatchMatMul', backend, { a, b }, { transposeA: false, transposeB: false });
}
