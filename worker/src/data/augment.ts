/**
 * MoCo v2 augmentation (shared/docs/JCL.md): RandomResizedCrop(scale 0.2-1, ratio 3/4-4/3) with
 * bilinear resize, horizontal flip, ColorJitter(0.4, 0.4, 0.4, 0.1) with p = 0.8 in random order,
 * RandomGrayscale p = 0.2, GaussianBlur sigma in [0.1, 2] with p = 0.5, then normalisation.
 * Pure: image + parameters + generator in, pixels out. On 1-channel images saturation, hue and
 * grayscale are identities (there is no colour to change), brightness and contrast still apply.
 */
import type { TrainingConfig } from '../config/schema.ts';
import { Rng } from '../util/rng.ts';

export type AugmentConfig = TrainingConfig['data']['augment'];

export interface SourceImage {
  data: Uint8Array; // HWC
  height: number;
  width: number;
}

/** Writes one augmented, normalised crop [outSize, outSize, C] into `out` at `offset`. */
export function augmentInto(
  img: SourceImage,
  channels: number,
  outSize: number,
  aug: AugmentConfig,
  norm: { mean: readonly number[]; std: readonly number[] },
  rng: Rng,
  out: Float32Array,
  offset: number,
): void {
  const box = sampleCropBox(img.height, img.width, aug.cropScaleMin, aug.cropScaleMax, rng);
  const flip = rng.next() < aug.flipProb;
  const px = resizeBilinear(img, channels, box, outSize, flip); // [S*S*C] in [0, 1]
  if (rng.next() < aug.jitterProb) colorJitter(px, channels, aug, rng);
  if (channels === 3 && rng.next() < aug.grayscaleProb) toGrayscale(px);
  if (rng.next() < aug.blurProb)
    gaussianBlur(px, outSize, channels, rng.uniform(aug.blurSigmaMin, aug.blurSigmaMax));
  for (let i = 0; i < px.length; i++) {
    const c = i % channels;
    out[offset + i] = (px[i] - norm.mean[c]) / norm.std[c];
  }
}

/** The evaluation transform: centre crop (the whole image when square) resized, normalised. */
export function centerInto(
  img: SourceImage,
  channels: number,
  outSize: number,
  norm: { mean: readonly number[]; std: readonly number[] },
  out: Float32Array,
  offset: number,
): void {
  const side = Math.min(img.height, img.width);
  const box = { top: (img.height - side) / 2, left: (img.width - side) / 2, h: side, w: side };
  const px = resizeBilinear(img, channels, box, outSize, false);
  for (let i = 0; i < px.length; i++)
    out[offset + i] = (px[i] - norm.mean[i % channels]) / norm.std[i % channels];
}

export interface CropBox {
  top: number;
  left: number;
  h: number;
  w: number;
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

/** Bilinear resize of the box to [S, S, C] (align_corners = false), optionally mirrored. */
function resizeBilinear(
  img: SourceImage,
  channels: number,
  box: CropBox,
  size: number,
  flip: boolean,
): Float32Array {
  const out = new Float32Array(size * size * channels);
  const sy = box.h / size;
  const sx = box.w / size;
  for (let y = 0; y < size; y++) {
    const fy = Math.min(Math.max(box.top + (y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < size; x++) {
      const xx = flip ? size - 1 - x : x;
      const fx = Math.min(Math.max(box.left + (xx + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const wx = fx - x0;
      for (let c = 0; c < channels; c++) {
        const a = img.data[(y0 * img.width + x0) * channels + c];
        const b = img.data[(y0 * img.width + x1) * channels + c];
        const d = img.data[(y1 * img.width + x0) * channels + c];
        const e = img.data[(y1 * img.width + x1) * channels + c];
        out[(y * size + x) * channels + c] =
          ((a * (1 - wx) + b * wx) * (1 - wy) + (d * (1 - wx) + e * wx) * wy) / 255;
      }
    }
  }
  return out;
}

/** torchvision ColorJitter: the four adjustments in a random order, each with a random factor. */
function colorJitter(px: Float32Array, channels: number, aug: AugmentConfig, rng: Rng): void {
  const order = rng.shuffle([0, 1, 2, 3]) as number[];
  for (const op of order) {
    if (op === 0 && aug.brightness > 0) {
      const f = rng.uniform(Math.max(0, 1 - aug.brightness), 1 + aug.brightness);
      for (let i = 0; i < px.length; i++) px[i] = clamp01(px[i] * f);
    } else if (op === 1 && aug.contrast > 0) {
      const f = rng.uniform(Math.max(0, 1 - aug.contrast), 1 + aug.contrast);
      const m = meanLuma(px, channels);
      for (let i = 0; i < px.length; i++) px[i] = clamp01((px[i] - m) * f + m);
    } else if (op === 2 && aug.saturation > 0) {
      const f = rng.uniform(Math.max(0, 1 - aug.saturation), 1 + aug.saturation);
      if (channels === 3) {
        for (let p = 0; p < px.length; p += 3) {
          const g = luma(px[p], px[p + 1], px[p + 2]);
          for (let c = 0; c < 3; c++) px[p + c] = clamp01(g + f * (px[p + c] - g));
        }
      }
    } else if (op === 3 && aug.hue > 0) {
      const shift = rng.uniform(-aug.hue, aug.hue);
      if (channels === 3) for (let p = 0; p < px.length; p += 3) shiftHue(px, p, shift);
    }
  }
}

function toGrayscale(px: Float32Array): void {
  for (let p = 0; p < px.length; p += 3) {
    const g = luma(px[p], px[p + 1], px[p + 2]);
    px[p] = px[p + 1] = px[p + 2] = g;
  }
}

/** Separable Gaussian blur, kernel radius ceil(3 sigma) capped by the image, reflect padding. */
function gaussianBlur(px: Float32Array, size: number, channels: number, sigma: number): void {
  const radius = Math.min(Math.ceil(3 * sigma), size - 1);
  const k = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += k[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  const tmp = new Float32Array(px.length);
  const reflect = (i: number) => (i < 0 ? -i : i >= size ? 2 * size - 2 - i : i);
  for (let pass = 0; pass < 2; pass++) {
    const src = pass === 0 ? px : tmp;
    const dst = pass === 0 ? tmp : px;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let c = 0; c < channels; c++) {
          let acc = 0;
          for (let t = -radius; t <= radius; t++) {
            const xx = pass === 0 ? reflect(x + t) : x;
            const yy = pass === 0 ? y : reflect(y + t);
            acc += k[t + radius] * src[(yy * size + xx) * channels + c];
          }
          dst[(y * size + x) * channels + c] = acc;
        }
      }
    }
  }
}

function luma(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

function meanLuma(px: Float32Array, channels: number): number {
  let s = 0;
  if (channels === 3) for (let p = 0; p < px.length; p += 3) s += luma(px[p], px[p + 1], px[p + 2]);
  else for (let p = 0; p < px.length; p++) s += px[p];
  return s / (px.length / channels);
}

function shiftHue(px: Float32Array, p: number, shift: number): void {
  const r = px[p];
  const g = px[p + 1];
  const b = px[p + 2];
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const d = max - min;
  if (d === 0) return;
  let h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  h = (((h / 6 + shift) % 1) + 1) % 1;
  const s = d / max;
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const v = max;
  const pp = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const rgb = [
    [v, t, pp],
    [q, v, pp],
    [pp, v, t],
    [pp, q, v],
    [t, pp, v],
    [v, pp, q],
  ][i % 6];
  px[p] = rgb[0];
  px[p + 1] = rgb[1];
  px[p + 2] = rgb[2];
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
