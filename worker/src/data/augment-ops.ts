/**
 * The pixel operations of MoCo v2 augmentation on a float HWC image in [0, 1], written as tight loops
 * over typed arrays (no per-pixel allocation). They follow what torchvision does on PIL images, which is
 * what MoCo v2 trains with: resize is PIL's separable bilinear (a triangle filter whose support widens
 * when shrinking, i.e. antialiased), the colour ops are ImageEnhance's blends and an HSV hue shift, and
 * the blur is PIL's ImageFilter.GaussianBlur (three extended box blurs, Gwosdek et al. 2011), which
 * MoCo v2's `GaussianBlur` class calls; it costs O(1) per pixel whatever sigma is.
 */
import type { CropBox } from './augment-params.ts';
import { boxBlurSimd } from './box-blur-simd.ts';
import { resizeCropSimd, type Taps } from './resize-crop-simd.ts';
import type { SourceImage } from './dataset.ts';

// Per-thread scratch buffers, grown on demand: the ops run once per crop, so allocating (and zeroing)
// a fresh megabyte each time would cost more than some of the ops themselves.
const scratch: Float32Array[] = [new Float32Array(0), new Float32Array(0)];
function scratchOf(slot: 0 | 1, n: number): Float32Array {
  if (scratch[slot].length < n) scratch[slot] = new Float32Array(n);
  return scratch[slot].subarray(0, n);
}

/** PIL's precompute_coeffs for the bilinear filter over [from, from + len) of an axis, to `out` samples. */
export function bilinearTaps(from: number, len: number, out: number, flip: boolean, gain: number): Taps {
  const scale = len / out;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the triangle's support is 1, widened when shrinking
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(out);
  const count = new Int32Array(out);
  const weights = new Float32Array(out * maxTaps);
  for (let o = 0; o < out; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), len);
    const dst = flip ? out - 1 - o : o;
    let sum = 0;
    for (let x = lo; x < hi; x++) {
      const w = Math.max(0, 1 - Math.abs((x - center + 0.5) / filterScale));
      weights[dst * maxTaps + x - lo] = w;
      sum += w;
    }
    for (let t = 0; t < hi - lo; t++) weights[dst * maxTaps + t] *= sum > 0 ? gain / sum : 0;
    start[dst] = from + lo;
    count[dst] = hi - lo;
  }
  return { start, count, weights, maxTaps };
}

/**
 * Crops `box` out of `img` and resizes it to [size, size, C] in [0, 1] (optionally mirrored), PIL
 * bilinear: horizontal pass over the crop's rows, then vertical. `out` has size*size*C floats.
 */
export function resizeCrop(
  img: SourceImage,
  channels: number,
  box: CropBox,
  size: number,
  flip: boolean,
  out: Float32Array,
): void {
  const hx = bilinearTaps(box.left, box.w, size, flip, 1 / 255);
  const vy = bilinearTaps(box.top, box.h, size, false, 1);
  if (!resizeCropSimd(img, channels, box, size, hx, vy, out))
    resizeCropJs(img, channels, box, size, hx, vy, out);
}

/** The same two passes in plain JavaScript (any channel count; the reference the SIMD passes are tested against). */
export function resizeCropJs(
  img: SourceImage,
  channels: number,
  box: CropBox,
  size: number,
  hx: Taps,
  vy: Taps,
  out: Float32Array,
): void {
  const rowLen = size * channels;
  const tmp = scratchOf(0, box.h * rowLen); // rows top..top+h, resized horizontally
  const src = img.data;
  const srcRow = img.width * channels;
  for (let r = 0; r < box.h; r++) {
    const srcBase = (box.top + r) * srcRow;
    const dstBase = r * rowLen;
    for (let o = 0; o < size; o++) {
      const n = hx.count[o];
      const wb = o * hx.maxTaps;
      let p = srcBase + hx.start[o] * channels;
      if (channels === 3) {
        let a = 0;
        let b = 0;
        let c = 0;
        for (let t = 0; t < n; t++, p += 3) {
          const w = hx.weights[wb + t];
          a += w * src[p];
          b += w * src[p + 1];
          c += w * src[p + 2];
        }
        tmp[dstBase + o * 3] = a;
        tmp[dstBase + o * 3 + 1] = b;
        tmp[dstBase + o * 3 + 2] = c;
      } else {
        for (let ch = 0; ch < channels; ch++) {
          let a = 0;
          for (let t = 0; t < n; t++) a += hx.weights[wb + t] * src[p + t * channels + ch];
          tmp[dstBase + o * channels + ch] = a;
        }
      }
    }
  }
  for (let o = 0; o < size; o++) {
    const n = vy.count[o];
    const wb = o * vy.maxTaps;
    const r0 = vy.start[o] - box.top;
    const dstBase = o * rowLen;
    for (let i = 0; i < rowLen; i++) out[dstBase + i] = 0;
    for (let t = 0; t < n; t++) {
      const w = vy.weights[wb + t];
      const srcBase = (r0 + t) * rowLen;
      for (let i = 0; i < rowLen; i++) out[dstBase + i] += w * tmp[srcBase + i];
    }
  }
}

/** ITU-R 601 luma, as PIL's convert('L'). */
function luma(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

/** ImageEnhance.Brightness: blend with black. */
export function adjustBrightness(px: Float32Array, f: number): void {
  for (let i = 0; i < px.length; i++) {
    const v = px[i] * f;
    px[i] = v > 1 ? 1 : v;
  }
}

/** ImageEnhance.Contrast: blend with the mean luma. */
export function adjustContrast(px: Float32Array, channels: number, f: number): void {
  let s = 0;
  if (channels === 3) for (let p = 0; p < px.length; p += 3) s += luma(px[p], px[p + 1], px[p + 2]);
  else for (let p = 0; p < px.length; p++) s += px[p];
  const m = (s / (px.length / channels)) * (1 - f);
  for (let i = 0; i < px.length; i++) {
    const v = px[i] * f + m;
    px[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}

/** ImageEnhance.Color: blend with the grey image (RGB only). */
export function adjustSaturation(px: Float32Array, f: number): void {
  for (let p = 0; p < px.length; p += 3) {
    const g = luma(px[p], px[p + 1], px[p + 2]) * (1 - f);
    for (let c = p; c < p + 3; c++) {
      const v = g + f * px[c];
      px[c] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
}

/** torchvision adjust_hue: rotate the HSV hue by `shift` turns (RGB only). */
export function adjustHue(px: Float32Array, shift: number): void {
  for (let p = 0; p < px.length; p += 3) {
    const r = px[p];
    const g = px[p + 1];
    const b = px[p + 2];
    const v = r > g ? (r > b ? r : b) : g > b ? g : b;
    const d = v - (r < g ? (r < b ? r : b) : g < b ? g : b);
    if (d === 0) continue;
    let h = v === r ? (g - b) / d : v === g ? (b - r) / d + 2 : (r - g) / d + 4; // in [-1, 5]
    h = h / 6 + shift;
    h -= Math.floor(h);
    const s = d / v;
    const h6 = h * 6;
    const sector = Math.floor(h6);
    const f = h6 - sector;
    const lo = v * (1 - s);
    const dn = v * (1 - f * s);
    const up = v * (1 - (1 - f) * s);
    switch (sector % 6) {
      case 0:
        px[p] = v;
        px[p + 1] = up;
        px[p + 2] = lo;
        break;
      case 1:
        px[p] = dn;
        px[p + 1] = v;
        px[p + 2] = lo;
        break;
      case 2:
        px[p] = lo;
        px[p + 1] = v;
        px[p + 2] = up;
        break;
      case 3:
        px[p] = lo;
        px[p + 1] = dn;
        px[p + 2] = v;
        break;
      case 4:
        px[p] = up;
        px[p + 1] = lo;
        px[p + 2] = v;
        break;
      default:
        px[p] = v;
        px[p + 1] = lo;
        px[p + 2] = dn;
    }
  }
}

/** RandomGrayscale: luma into all three channels. */
export function toGrayscale(px: Float32Array): void {
  for (let p = 0; p < px.length; p += 3) px[p] = px[p + 1] = px[p + 2] = luma(px[p], px[p + 1], px[p + 2]);
}

/** PIL's _gaussian_blur_radius: the extended box radius whose `passes` passes have variance sigma^2. */
export function boxRadiusForSigma(sigma: number, passes = 3): number {
  const sigma2 = (sigma * sigma) / passes;
  const L = Math.sqrt(12 * sigma2 + 1);
  const l = Math.floor((L - 1) / 2);
  const a = ((2 * l + 1) * (l * (l + 1) - 3 * sigma2)) / (6 * (sigma2 - (l + 1) * (l + 1)));
  return l + a;
}

/**
 * PIL ImageFilter.GaussianBlur(radius = sigma) on a [size, size, C] image: three extended box blurs
 * along rows, then three along columns, edges extended by their last pixel. Each pass is a running sum;
 * the vertical ones run a whole row at a time so their inner loop is over contiguous memory.
 */
export function gaussianBlur(px: Float32Array, size: number, channels: number, sigma: number): void {
  const radius = boxRadiusForSigma(sigma);
  if (boxBlurSimd(px, size, channels, radius)) return;
  gaussianBlurJs(px, size, channels, radius);
}

/** The same passes in plain JavaScript (any channel count; the reference the SIMD passes are tested against). */
export function gaussianBlurJs(px: Float32Array, size: number, channels: number, radius: number): void {
  const tmp = scratchOf(1, px.length);
  const row = size * channels;
  boxPassHorizontal(px, tmp, size, channels, radius);
  boxPassHorizontal(tmp, px, size, channels, radius);
  boxPassHorizontal(px, tmp, size, channels, radius);
  boxPassVertical(tmp, px, size, row, radius);
  boxPassVertical(px, tmp, size, row, radius);
  boxPassVertical(tmp, px, size, row, radius);
}

/** One extended box pass along x: dst[x] = (sum src[x-l..x+l] + a (src[x-l-1] + src[x+l+1])) / (2r+1). */
function boxPassHorizontal(
  src: Float32Array,
  dst: Float32Array,
  n: number,
  channels: number,
  radius: number,
): void {
  if (channels !== 3) {
    for (let c = 0; c < channels; c++) boxPassStrided(src, dst, n, channels, c, radius);
    return;
  }
  const l = Math.floor(radius);
  const a = radius - l;
  const inv = 1 / (2 * radius + 1);
  const last = n - 1;
  const row = n * 3;
  for (let y = 0; y < n; y++) {
    const base = y * row;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    for (let k = -l; k <= l; k++) {
      const p = base + (k < 0 ? 0 : k > last ? last : k) * 3;
      a0 += src[p];
      a1 += src[p + 1];
      a2 += src[p + 2];
    }
    for (let x = 0; x < n; x++) {
      const xl = x - l - 1;
      const xr = x + l + 1;
      const xo = x - l;
      const pl = base + (xl < 0 ? 0 : xl) * 3;
      const pr = base + (xr > last ? last : xr) * 3;
      const po = base + (xo < 0 ? 0 : xo) * 3;
      const d = base + x * 3;
      const r0 = src[pr];
      const r1 = src[pr + 1];
      const r2 = src[pr + 2];
      dst[d] = (a0 + a * (src[pl] + r0)) * inv;
      dst[d + 1] = (a1 + a * (src[pl + 1] + r1)) * inv;
      dst[d + 2] = (a2 + a * (src[pl + 2] + r2)) * inv;
      a0 += r0 - src[po];
      a1 += r1 - src[po + 1];
      a2 += r2 - src[po + 2];
    }
  }
}

/** The same pass for one channel `c` of `channels` (1-channel and other non-RGB images). */
function boxPassStrided(
  src: Float32Array,
  dst: Float32Array,
  n: number,
  channels: number,
  c: number,
  radius: number,
): void {
  const l = Math.floor(radius);
  const a = radius - l;
  const inv = 1 / (2 * radius + 1);
  const last = n - 1;
  const at = (base: number, x: number) => base + (x < 0 ? 0 : x > last ? last : x) * channels + c;
  for (let y = 0; y < n; y++) {
    const base = y * n * channels;
    let acc = 0;
    for (let k = -l; k <= l; k++) acc += src[at(base, k)];
    for (let x = 0; x < n; x++) {
      const vr = src[at(base, x + l + 1)];
      dst[base + x * channels + c] = (acc + a * (src[at(base, x - l - 1)] + vr)) * inv;
      acc += vr - src[at(base, x - l)];
    }
  }
}

/** One extended box pass along y, a whole row at a time (row sums in `acc`). */
function boxPassVertical(src: Float32Array, dst: Float32Array, n: number, row: number, radius: number): void {
  const l = Math.floor(radius);
  const a = radius - l;
  const inv = 1 / (2 * radius + 1);
  const last = n - 1;
  const clampRow = (y: number) => (y < 0 ? 0 : y > last ? last : y) * row;
  const acc = new Float64Array(row);
  for (let k = -l; k <= l; k++) {
    const b = clampRow(k);
    for (let i = 0; i < row; i++) acc[i] += src[b + i];
  }
  for (let y = 0; y < n; y++) {
    const bl = clampRow(y - l - 1);
    const br = clampRow(y + l + 1);
    const bo = clampRow(y - l);
    const d = y * row;
    for (let i = 0; i < row; i++) {
      const vr = src[br + i];
      dst[d + i] = (acc[i] + a * (src[bl + i] + vr)) * inv;
      acc[i] += vr - src[bo + i];
    }
  }
}
