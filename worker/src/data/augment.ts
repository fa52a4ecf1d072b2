/**
 * MoCo v2 augmentation (shared/docs/JCL.md): RandomResizedCrop(scale 0.2-1, ratio 3/4-4/3) with
 * bilinear resize, horizontal flip, ColorJitter(0.4, 0.4, 0.4, 0.1) with p = 0.8 in random order,
 * RandomGrayscale p = 0.2, GaussianBlur sigma in [0.1, 2] with p = 0.5, then normalisation.
 * Pure: image + parameters + generator in, pixels out. On 1-channel images saturation, hue and
 * grayscale are identities (there is no colour to change), brightness and contrast still apply.
 * The parameters are drawn in augment-params.ts, the pixels made in augment-ops.ts.
 */
import type { Rng } from '../util/rng.ts';
import { sampleAugmentParams, type AugmentConfig, type AugmentParams } from './augment-params.ts';
import {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  gaussianBlur,
  resizeCrop,
  toGrayscale,
} from './augment-ops.ts';
import type { SourceImage } from './dataset.ts';

export type { AugmentConfig, CropBox } from './augment-params.ts';
export { sampleCropBox } from './augment-params.ts';
export type { SourceImage } from './dataset.ts';

interface Norm {
  mean: readonly number[];
  std: readonly number[];
}

// One scratch image per thread, reused by every crop of that size.
let scratch = new Float32Array(0);
function scratchOf(n: number): Float32Array {
  if (scratch.length !== n) scratch = new Float32Array(n);
  return scratch;
}

/** Writes one augmented, normalised crop [outSize, outSize, C] into `out` at `offset`. */
export function augmentInto(
  img: SourceImage,
  channels: number,
  outSize: number,
  aug: AugmentConfig,
  norm: Norm,
  rng: Rng,
  out: Float32Array,
  offset: number,
): void {
  applyAugment(
    img,
    channels,
    outSize,
    sampleAugmentParams(img.height, img.width, aug, rng),
    norm,
    out,
    offset,
  );
}

/** Makes the crop `p` describes (see augmentInto). */
export function applyAugment(
  img: SourceImage,
  channels: number,
  outSize: number,
  p: AugmentParams,
  norm: Norm,
  out: Float32Array,
  offset: number,
): void {
  const px = scratchOf(outSize * outSize * channels); // [S, S, C] in [0, 1]
  resizeCrop(img, channels, p.box, outSize, p.flip, px);
  for (const j of p.jitter) {
    if (j.op === 0) adjustBrightness(px, j.value);
    else if (j.op === 1) adjustContrast(px, channels, j.value);
    else if (channels === 3 && j.op === 2) adjustSaturation(px, j.value);
    else if (channels === 3 && j.op === 3) adjustHue(px, j.value);
  }
  if (channels === 3 && p.grayscale) toGrayscale(px);
  if (p.blurSigma > 0) gaussianBlur(px, outSize, channels, p.blurSigma);
  normalizeInto(px, channels, norm, out, offset);
}

/** The evaluation transform: centre crop (the whole image when square) resized, normalised. */
export function centerInto(
  img: SourceImage,
  channels: number,
  outSize: number,
  norm: Norm,
  out: Float32Array,
  offset: number,
): void {
  const side = Math.min(img.height, img.width);
  const box = {
    top: Math.floor((img.height - side) / 2),
    left: Math.floor((img.width - side) / 2),
    h: side,
    w: side,
  };
  const px = scratchOf(outSize * outSize * channels);
  resizeCrop(img, channels, box, outSize, false, px);
  normalizeInto(px, channels, norm, out, offset);
}

/** How far the evaluation transform lets an image be shrunk: its short side must stay >= outSize. */
export function centerShrinkLimit(outSize: number): (height: number, width: number) => number {
  return (h, w) => Math.min(h, w) / outSize;
}

function normalizeInto(
  px: Float32Array,
  channels: number,
  norm: Norm,
  out: Float32Array,
  offset: number,
): void {
  if (channels === 3) {
    const [m0, m1, m2] = norm.mean;
    const s0 = 1 / norm.std[0];
    const s1 = 1 / norm.std[1];
    const s2 = 1 / norm.std[2];
    for (let i = 0; i < px.length; i += 3) {
      out[offset + i] = (px[i] - m0) * s0;
      out[offset + i + 1] = (px[i + 1] - m1) * s1;
      out[offset + i + 2] = (px[i + 2] - m2) * s2;
    }
  } else {
    const inv = norm.std.map((s) => 1 / s);
    for (let i = 0; i < px.length; i++)
      out[offset + i] = (px[i] - norm.mean[i % channels]) * inv[i % channels];
  }
}
