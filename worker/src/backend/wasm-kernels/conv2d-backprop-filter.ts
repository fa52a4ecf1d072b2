/**
 * Conv2DBackpropFilter for the wasm backend, which registers none (issue 3: training on wasm failed,
 * and tfjs-backend-cpu needs ~15 s for one 16x28x28x32 filter gradient). The gradient is computed as a
 * single forward convolution that XNNPACK runs (geometry in conv-grad-geometry.ts).
 */
import {
  backend_util,
  type Conv2DBackpropFilterAttrs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { callWasmKernel, releaseAll, sliceInfo, transposeInfo } from './call-wasm-kernel.ts';
import { planFilterGrad } from './conv-grad-geometry.ts';

/**
 * dw = conv2d(xT, dyT) with batch and channels swapped.
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
      { strides: [1, 1], dilations: plan.dilations, pad: plan.pads, dataFormat: 'NHWC', dimRoundingMode: undefined },
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
