/**
 * Strided convolutions and their gradients on the wasm backend as single matrix products (issue 3). With
 * P = im2col(x): [N*Ho*Wo, kh*kw*Ci] (wat/im2col.ts) and the filter read as W: [kh*kw*Ci, Co]:
 *
 *   y  = P W                      (our matmul)
 *   dw = P^T dy                   (our outer_sums; its [kh*kw*Ci, Co] is the filter layout)
 *   dx = col2im(dy W^T)           (our matmul, then the patch rows summed back)
 *
 * The strided 3x3 layers of resnet18-cifar were the largest cost left on XNNPACK's direct paths: a quarter of
 * a worker's step, with the filter gradient (one dilated convolution with batch and channels swapped) and
 * the polyphase input gradient at about 10 GMAC/s (docs/BENCHMARKS.md). The products are our 4 x 8-block
 * kernels (wat/gemm.ts); the sums run in the same order as a direct convolution's, so results agree with
 * tfjs-backend-cpu to float32 rounding.
 */
import { backend_util, type KernelBackend, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { releaseAll, reshapeInfo, transposeInfo } from './call-wasm-kernel.ts';
import { heapKernels, offsetOf, type HeapKernels } from './heap-kernels.ts';

/** Which pass: the kernels' shape needs differ (rows in fours, columns in eights of each product). */
export type Im2colPass = 'forward' | 'filterGrad' | 'inputGrad';

/**
 * True when the pass can run as a patch-matrix product: NHWC float32, dilation 1, equal strides, input
 * channels a multiple of 4 (the patch kernels move 4 per vector), and the product's rows in fours and
 * columns in eights: forward [N*Ho*Wo, Co], filter gradient [kh*kw*Ci, Co], input gradient [N*Ho*Wo, kh*kw*Ci].
 */
export function im2colApplies(info: backend_util.Conv2DInfo, dtype: string, pass: Im2colPass): boolean {
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const patch = info.filterHeight * info.filterWidth * info.inChannels;
  const shapeOk =
    pass === 'forward'
      ? rows % 4 === 0 && info.outChannels % 8 === 0
      : pass === 'filterGrad'
        ? patch % 4 === 0 && info.outChannels % 8 === 0
        : rows % 4 === 0 && patch % 8 === 0;
  return (
    dtype === 'float32' &&
    info.dataFormat === 'channelsLast' &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.strideHeight === info.strideWidth &&
    info.inChannels % 4 === 0 &&
    shapeOk
  );
}

/** Run `body` with the patch matrix of x (released afterwards, on errors too). */
function withPatches<T>(
  backend: KernelBackend,
  x: TensorInfo,
  info: backend_util.Conv2DInfo,
  body: (k: HeapKernels, patches: number, rows: number, patch: number) => T,
): T {
  const wasm = backend as unknown as BackendWasm;
  const k = heapKernels(wasm);
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const patch = info.filterHeight * info.filterWidth * info.inChannels;
  const p = wasm.makeOutput([rows, patch], 'float32');
  try {
    k.im2col(offsetOf(wasm, x), offsetOf(wasm, p), ...patchArgs(info));
    return body(k, offsetOf(wasm, p), rows, patch);
  } finally {
    releaseAll(backend, [p]);
  }
}

/** The patch kernels' (n, h, w, c, outH, outW, kh, kw, stride, padTop, padLeft). */
function patchArgs(info: backend_util.Conv2DInfo) {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.padInfo.top,
    info.padInfo.left,
  ] as const;
}

/** y = conv2d(x, filter) as im2col(x) W. x: [N, H, W, Ci], filter: [kh, kw, Ci, Co] -> [N, Ho, Wo, Co]. */
export function im2colConv2d(
  backend: KernelBackend,
  x: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const wasm = backend as unknown as BackendWasm;
  const y = wasm.makeOutput([info.batchSize, info.outHeight, info.outWidth, info.outChannels], 'float32');
  withPatches(backend, x, info, (k, p, rows, patch) =>
    k.matmul(p, offsetOf(wasm, filter), offsetOf(wasm, y), patch, rows, info.outChannels, 0),
  );
  return y;
}

/** dw = im2col(x)^T dy. x: [N, H, W, Ci], dy: [N, Ho, Wo, Co] -> dw: [kh, kw, Ci, Co]. */
export function im2colFilterGrad(
  backend: KernelBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const wasm = backend as unknown as BackendWasm;
  const dw = wasm.makeOutput(
    [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels],
    'float32',
  );
  withPatches(backend, x, info, (k, p, rows, patch) =>
    k.outer_sums(p, offsetOf(wasm, dy), offsetOf(wasm, dw), rows, patch, info.outChannels, 0),
  );
  return dw;
}

/** dx = col2im(dy W^T). dy: [N, Ho, Wo, Co], filter: [kh, kw, Ci, Co] -> dx: [N, H, W, Ci]. */
export function im2colInputGrad(
  backend: KernelBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const wasm = backend as unknown as BackendWasm;
  const k = heapKernels(wasm);
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const patch = info.filterHeight * info.filterWidth * info.inChannels;
  const temps: TensorInfo[] = [];
  try {
    const w2 = reshapeInfo(backend, filter, [patch, info.outChannels]);
    temps.push(w2);
    const wT = transposeInfo(backend, w2, [1, 0]); // [Co, kh*kw*Ci]
    temps.push(wT);
    const cols = wasm.makeOutput([rows, patch], 'float32');
    temps.push(cols);
    k.matmul(offsetOf(wasm, dy), offsetOf(wasm, wT), offsetOf(wasm, cols), info.outChannels, rows, patch, 0);
    const dx = wasm.makeOutput([info.batchSize, info.inHeight, info.inWidth, info.inChannels], 'float32');
    k.col2im(offsetOf(wasm, cols), offsetOf(wasm, dx), ...patchArgs(info));
    return dx;
  } finally {
    releaseAll(backend, temps);
  }
}
