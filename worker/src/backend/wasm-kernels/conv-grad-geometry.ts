/**
 * Pure geometry for expressing the two convolution gradients as forward convolutions, which XNNPACK
 * (inside tfjs-backend-wasm) runs an order of magnitude faster than the stock wasm backprop code
 * (issue 3). Forward convolution, dilation 1 (tfjs refuses conv gradients with dilation > 1):
 *
 *   y[n, o, p, co] = sum_{i, j, ci} xpad[n, o*s + i, p*s + j, ci] * w[i, j, ci, co]
 *
 * with xpad = x padded by (top, bottom, left, right) and s the stride.
 */

/** The subset of tfjs `Conv2DInfo` the gradients need (all in channels-last layout). */
export interface ConvGeometry {
  inHeight: number;
  inWidth: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padInfo: { top: number; bottom: number; left: number; right: number };
}

/** Explicit paddings in tfjs order: [[0, 0], [top, bottom], [left, right], [0, 0]]. */
export type ExplicitPads = [[number, number], [number, number], [number, number], [number, number]];

/**
 * Filter gradient as one convolution with batch and channels swapped:
 *
 *   dw[i, j, ci, co] = sum_{o, p, n} xT[ci, i + o*s, j + p*s, n] * dyT[o, p, n, co]
 *
 * i.e. conv2d(xT: [Ci, H, W, N], filter dyT: [Ho, Wo, N, Co], stride 1, dilation s) -> [Ci, kh', kw', Co].
 * The bottom/right pads are trimmed to what the last tap reads; rows beyond it never contribute, so
 * kh' >= kh and the caller slices the first kh x kw taps when kh' > kh.
 */
export interface FilterGradPlan {
  pads: ExplicitPads;
  dilations: [number, number];
  /** Spatial size the convolution produces before slicing to [kh, kw]. */
  convOutHeight: number;
  convOutWidth: number;
}

/** Plan the filter gradient of a stride-s, dilation-1 convolution (see {@link FilterGradPlan}). */
export function planFilterGrad(g: ConvGeometry): FilterGradPlan {
  const axis = (inSize: number, outSize: number, k: number, s: number, before: number): [number, number] => {
    const neededPadded = k - 1 + (outSize - 1) * s + 1;
    const after = Math.max(0, neededPadded - inSize - before);
    // conv output size = padded - dilated filter extent + 1 = padded - (outSize - 1) * s
    return [after, inSize + before + after - (outSize - 1) * s];
  };
  const [bottom, convOutHeight] = axis(
    g.inHeight,
    g.outHeight,
    g.filterHeight,
    g.strideHeight,
    g.padInfo.top,
  );
  const [right, convOutWidth] = axis(g.inWidth, g.outWidth, g.filterWidth, g.strideWidth, g.padInfo.left);
  return {
    pads: [
      [0, 0],
      [g.padInfo.top, bottom],
      [g.padInfo.left, right],
      [0, 0],
    ],
    dilations: [g.strideHeight, g.strideWidth],
    convOutHeight,
    convOutWidth,
  };
}

/**
 * Input gradient as a stride-1 convolution of the zero-upsampled dy with the flipped, in/out-swapped
 * filter:
 *
 *   dx[n, h, w, ci] = sum_{i', j', co} dyUp[n, h - (kh-1-top) + i', w - (kw-1-left) + j', co]
 *                                       * w[kh-1-i', kw-1-j', ci, co]
 *
 * where dyUp[n, o*s, p*s] = dy[n, o, p] and zero elsewhere; upsampling by reshape+pad leaves s-1 zero
 * rows after the last one (upHeight = Ho*s). `crop` removes trailing rows/cols that only feed outputs
 * beyond the input extent; null when a pad would be negative (explicit pads wider than the filter),
 * where the caller falls back to the stock kernel.
 */
export interface InputGradPlan {
  upHeight: number;
  upWidth: number;
  /** Rows/cols of dyUp kept (a prefix): upHeight/upWidth minus any crop. */
  keepHeight: number;
  keepWidth: number;
  pads: ExplicitPads;
}

/** Plan the input gradient of a stride-s, dilation-1 convolution; null when the plan cannot apply. */
export function planInputGrad(g: ConvGeometry): InputGradPlan | null {
  const axis = (inSize: number, outSize: number, k: number, s: number, before: number) => {
    const up = outSize * s;
    const padBefore = k - 1 - before;
    // conv output = kept + padBefore + padAfter - k + 1 must equal inSize
    const padAfter = inSize + k - 1 - up - padBefore;
    const keep = padAfter < 0 ? up + padAfter : up;
    return { up, keep, padBefore, padAfter: Math.max(0, padAfter) };
  };
  const h = axis(g.inHeight, g.outHeight, g.filterHeight, g.strideHeight, g.padInfo.top);
  const w = axis(g.inWidth, g.outWidth, g.filterWidth, g.strideWidth, g.padInfo.left);
  if (h.padBefore < 0 || w.padBefore < 0 || h.keep <= 0 || w.keep <= 0) return null;
  return {
    upHeight: h.up,
    upWidth: w.up,
    keepHeight: h.keep,
    keepWidth: w.keep,
    pads: [
      [0, 0],
      [h.padBefore, h.padAfter],
      [w.padBefore, w.padAfter],
      [0, 0],
    ],
  };
}

/**
 * One axis of the polyphase input gradient for stride s > 1. Writing the padded input coordinate as
 * h' = s*q + r, each residue r only meets the taps i = r + s*m:
 *
 *   dxPad_r[q] = sum_m dy[q - m] * w[r + s*m]
 *
 * a stride-1 correlation of dy (padded by taps-1 before) with the flipped sub-filter. The s phases
 * together cost one forward convolution, where zero-upsampling dy would cost s*s of them.
 */
export interface PolyphaseAxis {
  stride: number;
  /** Rows each phase produces; the phases interleave to stride * phaseLen padded rows. */
  phaseLen: number;
  /** First real input row in the padded coordinate (the forward pad before). */
  cropBegin: number;
  /** Per residue r: the filter taps in convolution order (r + s*(M-1-m) for m = 0..M-1); may be empty. */
  taps: number[][];
  /** dy rows used (a prefix) and zero rows appended, so that every phase yields phaseLen rows. */
  keep: number;
  padAfter: number;
}

/** Plan one axis of the polyphase input gradient (see {@link PolyphaseAxis}). */
export function planPolyphaseAxis(
  inSize: number,
  outSize: number,
  filterSize: number,
  stride: number,
  padBefore: number,
): PolyphaseAxis {
  const phaseLen = Math.ceil((padBefore + inSize) / stride);
  const taps: number[][] = [];
  for (let r = 0; r < stride; r++) {
    const count = r < filterSize ? Math.ceil((filterSize - r) / stride) : 0;
    taps.push(Array.from({ length: count }, (_, m) => r + stride * (count - 1 - m)));
  }
  const keep = Math.min(outSize, phaseLen);
  return { stride, phaseLen, cropBegin: padBefore, taps, keep, padAfter: phaseLen - keep };
}
