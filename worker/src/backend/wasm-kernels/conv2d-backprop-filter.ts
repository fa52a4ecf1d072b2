/**
 * Conv2DBackpropFilter for the wasm backend, which registers none (issue 3: training on wasm failed,
 * and tfjs-backend-cpu needs ~15 s for one 16x28x28x32 filter gradient). The gradient is computed by
 * Winograd F(4x4, 3x3) for 3x3 stride-1 layers and polyphase Winograd for 3x3 stride-2 ones
 * (winograd-conv.ts), as one patch-matrix product for other strided layers (im2col-conv.ts), else
 * as a single forward convolution that XNNPACK runs (geometry in conv-grad-geometry.ts) or, for few
 * input channels, as one matrix product per filter tap.
 */
import {
  backend_util,
  type Conv2DBackpropFilterAttrs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import {
  callWasmKernel,
  concatInfo,
  matMulInfo,
  padInfo,
  releaseAll,
  reshapeInfo,
  sliceInfo,
  stridedSliceInfo,
  transposeInfo,
} from './call-wasm-kernel.ts';
import { planFilterGrad } from './conv-grad-geometry.ts';
import { im2colFilterGrad } from './im2col-conv.ts';
import {
  useStridedIm2col,
  useWinogradFilterGrad,
  useWinogradS2FilterGrad,
  winogradFilterGrad,
  winogradS2FilterGrad,
} from './winograd-conv.ts';

/**
 * dw[i, j] = xTap(i, j)^T @ dy: one [Ci, M] x [M, Co] product per filter tap, M = N*Ho*Wo, where
 * xTap(i, j) is the strided window of the padded input that tap (i, j) reads. The transpose of x is
 * materialised once ([Ci, N, Hp, Wp]) because the wasm BatchMatMul is only fast without transposes.
 */
export function filterGradByTaps(
  backend: KernelBackend,
  x: TensorInfo,
  dy: TensorInfo,
  filterShape: [number, number, number, number],
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const [kh, kw, ci, co] = filterShape;
  const [n, ho, wo] = dy.shape;
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  const { top, left } = info.padInfo;
  const needH = kh - 1 + (ho - 1) * sh + 1;
  const needW = kw - 1 + (wo - 1) * sw + 1;
  const temps: TensorInfo[] = [];
  const keep = <T extends TensorInfo>(t: T): T => (temps.push(t), t);
  try {
    let xT = keep(transposeInfo(backend, x, [3, 0, 1, 2])); // xT: [Ci, N, H, W]
    const bottom = Math.max(0, needH - info.inHeight - top);
    const right = Math.max(0, needW - info.inWidth - left);
    if (top + bottom + left + right > 0) {
      xT = keep(
        padInfo(backend, xT, [
          [0, 0],
          [0, 0],
          [top, bottom],
          [left, right],
        ]),
      ); // [Ci, N, Hp, Wp]
    }
    const dyM = keep(reshapeInfo(backend, dy, [n * ho * wo, co])); // dyM: [M, Co]
    const parts: TensorInfo[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const tap = keep(
          stridedSliceInfo(
            backend,
            xT,
            [0, 0, i, j],
            [ci, n, i + (ho - 1) * sh + 1, j + (wo - 1) * sw + 1],
            [1, 1, sh, sw],
          ),
        ); // tap: [Ci, N, Ho, Wo]
        const tapM = keep(reshapeInfo(backend, tap, [ci, n * ho * wo]));
        parts.push(keep(matMulInfo(backend, tapM, dyM))); // [Ci, Co]
      }
    }
    const dw =
      parts.length === 1
        ? keep(callWasmKernel('Identity', backend, { x: parts[0] }))
        : keep(concatInfo(backend, parts, 0));
    return reshapeInfo(backend, dw, [kh, kw, ci, co]);
  } finally {
    releaseAll(backend, temps);
  }
}

/**
 * The Conv2DBackpropFilter kernel: dw = conv2d(xT, dyT) with batch and channels swapped, or
 * {@link filterGradByTaps} for few input channels at stride 1.
 * x: [N, H, W, Ci], dy: [N, Ho, Wo, Co] -> dw: [kh, kw, Ci, Co].
 */
export function conv2dBackpropFilterWasm(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: KernelBackend;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (backend_util.convertConv2DDataFormat(dataFormat) !== 'channelsLast') {
    throw new Error(`wasm Conv2DBackpropFilter supports dataFormat NHWC only, got ${dataFormat}`);
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  if (useWinogradFilterGrad(info, x.dtype)) return winogradFilterGrad(backend, x, dy, info);
  if (useWinogradS2FilterGrad(info, x.dtype)) return winogradS2FilterGrad(backend, x, dy, info);
  if (useStridedIm2col(info, x.dtype, 'filterGrad')) return im2colFilterGrad(backend, x, dy, info);
  // Measured on the resnet18-cifar shapes (docs/BENCHMARKS.md): per-tap products win only when the
  // convolution form has a tiny output (few input channels, e.g. the RGB stem: 7.7 vs 34 ms); the
  // wasm StridedSlice is slow for stride 2 (1 s for one 64->128 tap set), so strided convs never use it.
  if (info.strideHeight === 1 && info.strideWidth === 1 && filterShape[2] < 32) {
    return filterGradByTaps(backend, x, dy, filterShape, info);
  }
  const [kh, kw, ci, co] = filterShape;
  const plan = planFilterGrad(info);
  const temps: TensorInfo[] = [];
  try {
    const xT = transposeInfo(backend, x, [3, 1, 2, 0]); // xT: [Ci, H, W, N]
    temps.push(xT);
    const dyT = transposeInfo(backend, dy, [1, 2, 0, 3]); // dyT: [Ho, Wo, N, Co]
    temps.push(dyT);
    let dwT = callWasmKernel(
      'Conv2D',
      backend,
      { x: xT, filter: dyT },
      { strides: [1, 1], dilations: plan.dilations, pad: plan.pads, dataFormat: 'NHWC' },
    ); // dwT: [Ci, kh', kw', Co]
    temps.push(dwT);
    if (plan.convOutHeight !== kh || plan.convOutWidth !== kw) {
      dwT = sliceInfo(backend, dwT, [0, 0, 0, 0], [ci, kh, kw, co]); // dwT: [Ci, kh, kw, Co]
      temps.push(dwT);
    }
    return transposeInfo(backend, dwT, [1, 2, 0, 3]); // dw: [kh, kw, Ci, Co]
  } finally {
    releaseAll(backend, temps);
  }
}

/** Kernel registration for {@link conv2dBackpropFilterWasm}. */
export const conv2dBackpropFilterWasmConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilterWasm as unknown as KernelFunc,
};
