/**
 * Conv2DBackpropInput for the wasm backend. The stock wasm kernel is a plain loop nest (~10x slower
 * than the XNNPACK forward convolution of the same size, issue 3); this one is a stride-1 forward
 * convolution of the zero-upsampled dy with the flipped filter (geometry in conv-grad-geometry.ts).
 */
import {
  backend_util,
  type Conv2DBackpropInputAttrs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { callWasmKernel, padInfo, releaseAll, reshapeInfo, sliceInfo, transposeInfo } from './call-wasm-kernel.ts';
import { planInputGrad } from './conv-grad-geometry.ts';

type BackpropInputArgs = {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: KernelBackend;
  attrs: Conv2DBackpropInputAttrs;
};

/**
 * Build the kernel; `fallback` (the stock kernel) handles the geometries the plan does not cover
 * (explicit pads wider than the filter) and non-NHWC layouts.
 * dy: [N, Ho, Wo, Co], filter: [kh, kw, Ci, Co] -> dx: [N, H, W, Ci].
 */
export function makeConv2dBackpropInputWasm(fallback: KernelFunc | undefined): (args: BackpropInputArgs) => TensorInfo {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs;
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
    const nhwc = backend_util.convertConv2DDataFormat(dataFormat) === 'channelsLast';
    const info = backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    const plan = nhwc ? planInputGrad(info) : null;
    if (plan === null) {
      if (fallback === undefined) throw new Error(`wasm Conv2DBackpropInput: unsupported geometry ${JSON.stringify(attrs)}`);
      return fallback(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const [n, ho, wo, co] = dy.shape;
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    const temps: TensorInfo[] = [];
    try {
      let up = dy;
      if (sh > 1 || sw > 1) {
        // Zero-upsample by viewing dy as [N, Ho, 1, Wo, 1, Co] and padding the unit axes to the stride.
        const dy6 = reshapeInfo(backend, dy, [n, ho, 1, wo, 1, co]);
        temps.push(dy6);
        const padded = padInfo(backend, dy6, [
          [0, 0],
          [0, 0],
          [0, sh - 1],
          [0, 0],
          [0, sw - 1],
          [0, 0],
        ]); // padded: [N, Ho, sh, Wo, sw, Co]
        temps.push(padded);
        up = reshapeInfo(backend, padded, [n, plan.upHeight, plan.upWidth, co]);
        temps.push(up);
      }
      if (plan.keepHeight !== plan.upHeight || plan.keepWidth !== plan.upWidth) {
        up = sliceInfo(backend, up, [0, 0, 0, 0], [n, plan.keepHeight, plan.keepWidth, co]);
        temps.push(up);
      }
      const flipped = callWasmKernel('Reverse', backend, { x: filter }, { dims: [0, 1] });
      temps.push(flipped);
      const wT = transposeInfo(backend, flipped, [0, 1, 3, 2]); // wT: [kh, kw, Co, Ci]
      temps.push(wT);
      return callWasmKernel(
        'Conv2D',
        backend,
        { x: up, filter: wT },
        { strides: [1, 1], dilations: [1, 1], pad: plan.pads, dataFormat: 'NHWC', dimRoundingMode: undefined },
      ); // dx: [N, H, W, Ci]
    } finally {
      releaseAll(backend, temps);
    }
  };
}
