/**
 * The random parameters of one MoCo v2 crop (shared/docs/JCL.md), drawn exactly as torchvision's
 * transforms draw them: RandomResizedCrop.get_params (scale, log-uniform ratio 3/4-4/3, 10 attempts then
 * a centre crop), flip p, ColorJitter with p (factors uniform in [max(0, 1-x), 1+x], hue in [-h, h],
 * the four in a uniformly random order), RandomGrayscale p, GaussianBlur p with sigma ~ U[min, max].
 * Pure: sizes + config + generator in, parameters out (the pixels are made in augment-ops.ts).
 */
import type { TrainingConfig } from '../config/schema.ts';
import type { Rng } from '../util/rng.ts';

export type AugmentConfig = TrainingConfig['data']['augment'];

export interface CropBox {
  top: number;
  left: number;
  h: number;
  w: number;
}

/** One colour adjustment: 0 brightness, 1 contrast, 2 saturation (factors), 3 hue (shift). */
export interface JitterOp {
  op: 0 | 1 | 2 | 3;
  value: number;
}

export interface AugmentParams {
  box: CropBox;
  flip: boolean;
  /** The colour adjustments in the order they apply; empty when jitter was not drawn. */
  jitter: JitterOp[];
  grayscale: boolean;
  /** Blur sigma in output pixels, 0 for no blur. */
  blurSigma: number;
}

/** torchvision RandomResizedCrop.get_params: 10 attempts, then a centre crop with clamped ratio. */
export function sampleCropBox(height: number, width: number, smin: number, smax: number, rng: Rng): CropBox {
  const area = height * width;
  const logLo = Math.log(3 / 4);
  const logHi = Math.log(4 / 3);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(smin, smax);
    const ratio = Math.exp(rng.uniform(logLo, logHi));
    const w = Math.round(Math.sqrt(target * ratio));
    const h = Math.round(Math.sqrt(target / ratio));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      return { top: rng.int(height - h + 1), left: rng.int(width - w + 1), h, w };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < 3 / 4) h = Math.round(w / (3 / 4));
  else if (inRatio > 4 / 3) w = Math.round(h * (4 / 3));
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), h, w };
}

/**
 * Draws every parameter of one crop of a `height` x `width` image. Colour ops that cannot change a
 * 1-channel image (saturation, hue, grayscale) still consume their draws, so the stream of a given
 * (seed, epoch, index) does not depend on the channel count.
 */
export function sampleAugmentParams(
  height: number,
  width: number,
  aug: AugmentConfig,
  rng: Rng,
): AugmentParams {
  const box = sampleCropBox(height, width, aug.cropScaleMin, aug.cropScaleMax, rng);
  const flip = rng.next() < aug.flipProb;
  const jitter: JitterOp[] = [];
  if (rng.next() < aug.jitterProb) {
    const order = rng.shuffle([0, 1, 2, 3]) as (0 | 1 | 2 | 3)[];
    for (const op of order) {
      if (op === 0 && aug.brightness > 0)
        jitter.push({ op, value: rng.uniform(Math.max(0, 1 - aug.brightness), 1 + aug.brightness) });
      else if (op === 1 && aug.contrast > 0)
        jitter.push({ op, value: rng.uniform(Math.max(0, 1 - aug.contrast), 1 + aug.contrast) });
      else if (op === 2 && aug.saturation > 0)
        jitter.push({ op, value: rng.uniform(Math.max(0, 1 - aug.saturation), 1 + aug.saturation) });
      else if (op === 3 && aug.hue > 0) jitter.push({ op, value: rng.uniform(-aug.hue, aug.hue) });
    }
  }
  const grayscale = rng.next() < aug.grayscaleProb;
  const blurSigma = rng.next() < aug.blurProb ? rng.uniform(aug.blurSigmaMin, aug.blurSigmaMax) : 0;
  return { box, flip, jitter, grayscale, blurSigma };
}

/**
 * How far an image may be shrunk before RandomResizedCrop without a crop losing detail it would keep:
 * the smallest crop side is sqrt(area * scaleMin * 3/4) source pixels, and it must stay >= outSize.
 */
export function cropShrinkLimit(
  scaleMin: number,
  outSize: number,
): (height: number, width: number) => number {
  return (h, w) => Math.sqrt(h * w * scaleMin * 0.75) / outSize;
}
