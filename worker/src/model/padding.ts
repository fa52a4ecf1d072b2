/**
 * PyTorch-style symmetric padding expressed so every backend accepts it (issue 14). tfjs's cpu and wasm
 * backends take explicit padding; the native TensorFlow backend (tfjs-node, tfjs-node-gpu) takes only
 * 'valid' and 'same' (Conv2D, its input/filter gradients and MaxPool), so there a symmetric pad of `p` is
 * 'same' where TensorFlow's 'same' pads exactly that, and an explicit tf.pad followed by 'valid' elsewhere.
 * Pure decisions; layers.ts and resnet.ts apply them.
 */

/** How a window op with a symmetric padding runs on a backend. */
export type PaddingPlan = 'valid' | 'same' | 'pad-then-valid' | 'explicit';

/** Whether a backend's Conv2D and pooling kernels accept explicit (numeric) padding. */
export function acceptsExplicitPadding(backend: string): boolean {
  return backend !== 'tensorflow';
}

/**
 * Whether TensorFlow's 'same' padding of one spatial axis equals a symmetric pad of `pad` on both sides.
 * 'same' gives ceil(size / stride) outputs and pads max((out - 1) * stride + kernel - size, 0) in total,
 * the smaller half before: e.g. kernel 3, stride 1 pads 1 + 1 (equal to pad 1), but kernel 3, stride 2 on
 * an even size pads 0 + 1 (not equal: the windows start one pixel later).
 */
export function sameEqualsSymmetric(size: number, kernel: number, stride: number, pad: number): boolean {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  const before = Math.floor(total / 2);
  return (
    before === pad && total - before === pad && Math.floor((size + 2 * pad - kernel) / stride) + 1 === out
  );
}

/** The plan for a square window of `kernel` and `stride` padded by `pad` on every side of [H, W]. */
export function planPadding(
  backend: string,
  inputHW: readonly [number, number],
  kernel: number,
  stride: number,
  pad: number,
): PaddingPlan {
  if (pad === 0) return 'valid';
  if (acceptsExplicitPadding(backend)) return 'explicit';
  return inputHW.every((size) => sameEqualsSymmetric(size, kernel, stride, pad)) ? 'same' : 'pad-then-valid';
}

/** tf.pad's paddings for NHWC: `pad` on both sides of H and W. */
export function spatialPadding(
  pad: number,
): [[number, number], [number, number], [number, number], [number, number]] {
  return [
    [0, 0],
    [pad, pad],
    [pad, pad],
    [0, 0],
  ];
}
