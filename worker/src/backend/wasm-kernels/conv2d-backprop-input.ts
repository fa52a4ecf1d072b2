/**
 * Conv2DBackpropInput for the wasm backend. The stock wasm kernel is a plain loop nest (~10x slower
 * than the XNNPACK forward convolution of the same size, issue 3); this one runs forward
 * convolutions only: stride 1 as one convolution of dy with the flipped filter, stride s as one patch-matrix
 * product (im2col-conv.ts) or, where that does not apply, s*s polyphase sub-convolutions whose outputs
 * interleave (geometry in conv-grad-geometry.ts).
 */
import {
  backend_util,
  type Conv2DBackpropInputAttrs,
  type KernelBackend,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { callWasmKernel, concatInfo, releaseAll, reshapeInfo, sliceInfo } from './call-wasm-kernel.ts';
import { planInputGrad, planPolyphaseAxis, type ExplicitPads } from './conv-grad-geometry.ts';
import { gatherSwappedTaps } from './filter-transforms.ts';
import { im2colInputGrad } from './im2col-conv.ts';
import { useStridedIm2col } from './winograd-conv.ts';

type BackpropInputArgs = {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: KernelBackend;
  attrs: Conv2DBackpropInputAttrs;
};

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Sub-filter [rows, cols, Co, Ci] of w: [kh, kw, Ci, Co], written straight into wasm memory. */
function subFilter(backend: KernelBackend, filter: TensorInfo, rows: number[], cols: number[]): TensorInfo {
  const wasm = backend as unknown as BackendWasm;
  const [, , ci, co] = filter.shape as [number, number, number, number];
  const out = wasm.makeOutput([rows.length, cols.length, co, ci], 'float32');
  // Views are taken after the allocation: growing the heap detaches earlier ones.
  const w = wasm.typedArrayFromHeap(filter) as Float32Array;
  gatherSwappedTaps(
    w,
    filter.shape as [number, number, number, number],
    rows,
    cols,
    wasm.typedArrayFromHeap(out) as Float32Array,
  );
  return out;
}

function conv(backend: KernelBackend, x: TensorInfo, filter: TensorInfo, pads: ExplicitPads): TensorInfo {
  return callWasmKernel(
    'Conv2D',
    backend,
    { x, filter },
    { strides: [1, 1], dilations: [1, 1], pad: pads, dataFormat: 'NHWC' },
  );
}

/** Stride 1: dx = conv(dy, flipped swapped filter) with the pads of {@link planInputGrad}. */
function backpropStride1(
  backend: KernelBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
) {
  const plan = planInputGrad(info);
  if (plan === null) return null;
  const temps: TensorInfo[] = [];
  try {
    let src = dy;
    if (plan.keepHeight !== plan.upHeight || plan.keepWidth !== plan.upWidth) {
      src = sliceInfo(backend, dy, [0, 0, 0, 0], [dy.shape[0], plan.keepHeight, plan.keepWidth, dy.shape[3]]);
      temps.push(src);
    }
    const [kh, kw] = filter.shape;
    const wT = subFilter(backend, filter, range(kh).reverse(), range(kw).reverse()); // wT: [kh, kw, Co, Ci]
    temps.push(wT);
    return conv(backend, src, wT, plan.pads); // dx: [N, H, W, Ci]
  } finally {
    releaseAll(backend, temps);
  }
}

/** Stride s > 1: s*s polyphase convolutions interleaved into the padded dx, then cropped. */
function backpropPolyphase(
  backend: KernelBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
) {
  const [n, ho, wo, co] = dy.shape;
  const [kh, kw, ci] = filter.shape;
  const ph = planPolyphaseAxis(info.inHeight, ho, kh, info.strideHeight, info.padInfo.top);
  const pw = planPolyphaseAxis(info.inWidth, wo, kw, info.strideWidth, info.padInfo.left);
  const temps: TensorInfo[] = [];
  const keep = <T extends TensorInfo>(t: T): T => (temps.push(t), t);
  try {
    const src =
      ph.keep === ho && pw.keep === wo
        ? dy
        : keep(sliceInfo(backend, dy, [0, 0, 0, 0], [n, ph.keep, pw.keep, co]));
    const rowsOfPhases: TensorInfo[] = [];
    for (const rowTaps of ph.taps) {
      const phases: TensorInfo[] = [];
      for (const colTaps of pw.taps) {
        let part: TensorInfo; // part: [N, phaseLenH, phaseLenW, Ci]
        if (rowTaps.length === 0 || colTaps.length === 0) {
          part = keep(
            callWasmKernel(
              'Fill',
              backend,
              {},
              { shape: [n, ph.phaseLen, pw.phaseLen, ci], value: 0, dtype: 'float32' },
            ),
          );
        } else {
          const sub = keep(subFilter(backend, filter, rowTaps, colTaps));
          part = keep(
            conv(backend, src, sub, [
              [0, 0],
              [rowTaps.length - 1, ph.padAfter],
              [colTaps.length - 1, pw.padAfter],
              [0, 0],
            ]),
          );
        }
        phases.push(keep(reshapeInfo(backend, part, [n, ph.phaseLen, pw.phaseLen, 1, ci])));
      }
      const row = keep(concatInfo(backend, phases, 3)); // row: [N, phaseLenH, phaseLenW, sw, Ci]
      rowsOfPhases.push(keep(reshapeInfo(backend, row, [n, ph.phaseLen, 1, pw.phaseLen * pw.stride * ci])));
    }
    const all = keep(concatInfo(backend, rowsOfPhases, 2)); // all: [N, phaseLenH, sh, phaseLenW * sw * Ci]
    const padded = keep(reshapeInfo(backend, all, [n, ph.phaseLen * ph.stride, pw.phaseLen * pw.stride, ci]));
    return sliceInfo(
      backend,
      padded,
      [0, ph.cropBegin, pw.cropBegin, 0],
      [n, info.inHeight, info.inWidth, ci],
    ); // dx
  } finally {
    releaseAll(backend, temps);
  }
}

/**
 * Build the kernel; `fallback` (the stock kernel) handles the geometries the plans do not cover
 * (stride-1 explicit pads wider than the filter) and non-NHWC layouts.
 * dy: [N, Ho, Wo, Co], filter: [kh, kw, Ci, Co] -> dx: [N, H, W, Ci].
 */
export function makeConv2dBackpropInputWasm(
  fallback: KernelFunc | undefined,
): (args: BackpropInputArgs) => TensorInfo {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs;
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
    let out: TensorInfo | null = null;
    if (backend_util.convertConv2DDataFormat(dataFormat) === 'channelsLast' && filter.dtype === 'float32') {
      const info = backend_util.computeConv2DInfo(
        inputShape,
        filter.shape as [number, number, number, number],
        strides,
        1,
        pad,
        dimRoundingMode,
      );
      if (info.strideHeight === 1 && info.strideWidth === 1) out = backpropStride1(backend, dy, filter, info);
      else if (useStridedIm2col(info, filter.dtype, 'inputGrad'))
        out = im2colInputGrad(backend, dy, filter, info);
      else out = backpropPolyphase(backend, dy, filter, info);
    }
    if (out !== null) return out;
    if (fallback === undefined)
      throw new Error(`wasm Conv2DBackpropInput: unsupported geometry ${JSON.stringify(attrs)}`);
    return fallback(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  };
}
