import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assemble } from '../../../scripts/build-wasm.ts';
import { parseTrainingConfig } from '../config/parse-config.ts';
import { Rng } from '../util/rng.ts';
import { sampleAugmentParams, type AugmentParams } from './augment-params.ts';
import {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  boxRadiusForSigma,
  gaussianBlur,
  bilinearTaps,
  gaussianBlurJs,
  resizeCrop,
  resizeCropJs,
  toGrayscale,
} from './augment-ops.ts';
import { boxBlurSimd } from './box-blur-simd.ts';
import { BOX_BLUR_WASM_BASE64 } from './box-blur-wasm.ts';
import { resizeCropSimd } from './resize-crop-simd.ts';
import { RESIZE_CROP_WASM_BASE64 } from './resize-crop-wasm.ts';

const aug = parseTrainingConfig({}).data.augment; // MoCo v2's settings
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

describe('MoCo v2 augmentation parameters', () => {
  const N = 20000;
  const rng = new Rng(2024);
  const draws: AugmentParams[] = Array.from({ length: N }, () => sampleAugmentParams(375, 500, aug, rng));
  const jittered = draws.filter((d) => d.jitter.length > 0);
  const factor = (op: number) => jittered.map((d) => d.jitter.find((j) => j.op === op)!.value);
  const area = draws.map((d) => (d.box.h * d.box.w) / (375 * 500));
  const logRatio = draws.map((d) => Math.log(d.box.w / d.box.h));
  // torchvision 0.14 RandomResizedCrop.get_params(scale=(0.2, 1), ratio=(3/4, 4/3)) on a 500x375 image,
  // 40000 draws (/usr/bin/python3, torch.manual_seed(0)): mean area fraction 0.4962 (sd 0.186), mean
  // log(w/h) 0.0384. The 10-attempt rejection makes both differ from the naive uniform values.
  // Tolerances are ~4.5 standard errors of the estimate at N = 20000 (or of the jittered subset).
  it.each([
    ['crop area fraction mean, as torchvision', mean(area), 0.4962, 0.007],
    ['crop log aspect ratio mean, as torchvision', mean(logRatio), 0.0384, 0.007],
    ['horizontal flip', mean(draws.map((d) => +d.flip)), 0.5, 0.016],
    ['colour jitter applied', jittered.length / N, 0.8, 0.013],
    ['grayscale', mean(draws.map((d) => +d.grayscale)), 0.2, 0.013],
    ['blur applied', mean(draws.map((d) => +(d.blurSigma > 0))), 0.5, 0.016],
    [
      'blur sigma mean (U[0.1, 2])',
      mean(draws.filter((d) => d.blurSigma > 0).map((d) => d.blurSigma)),
      1.05,
      0.016,
    ],
    ['brightness mean (U[0.6, 1.4])', mean(factor(0)), 1, 0.005],
    ['contrast mean (U[0.6, 1.4])', mean(factor(1)), 1, 0.005],
    ['saturation mean (U[0.6, 1.4])', mean(factor(2)), 1, 0.005],
    ['hue shift mean (U[-0.1, 0.1])', mean(factor(3)), 0, 0.002],
    ['brightness variance (0.8^2 / 12)', mean(factor(0).map((v) => (v - 1) ** 2)), 0.64 / 12, 0.002],
    ['brightness first of the four', mean(jittered.map((d) => +(d.jitter[0].op === 0))), 0.25, 0.018],
    ['hue last of the four', mean(jittered.map((d) => +(d.jitter[3].op === 3))), 0.25, 0.018],
  ])('%s', (_, got, want, tol) => {
    expect(Math.abs(got - want)).toBeLessThan(tol);
  });

  it('keeps every factor and crop within the ranges torchvision draws from', () => {
    const outside = draws.filter((d) => {
      const { top, left, h, w } = d.box;
      return (
        d.jitter.some((j) => (j.op === 3 ? Math.abs(j.value) > 0.1 : j.value < 0.6 || j.value > 1.4)) ||
        (d.blurSigma > 0 && (d.blurSigma < 0.1 || d.blurSigma > 2)) ||
        top < 0 ||
        left < 0 ||
        top + h > 375 ||
        left + w > 500 ||
        // Rounding h and w to whole pixels widens the scale and ratio bounds by a hair.
        (h * w) / (375 * 500) < 0.199 ||
        w / h < 0.74 ||
        w / h > 1.345
      );
    });
    expect(outside).toEqual([]);
  });
});

describe('augmentation pixel ops', () => {
  it('blurs with variance sigma^2, as PIL GaussianBlur(radius = sigma), preserving the mean', () => {
    for (const sigma of [0.5, 1, 2]) {
      const size = 64;
      const px = new Float32Array(size * size);
      px[32 * size + 32] = 1; // an impulse
      gaussianBlur(px, size, 1, sigma);
      let total = 0;
      let varX = 0;
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          total += px[y * size + x];
          varX += px[y * size + x] * (x - 32) ** 2;
        }
      expect(total).toBeCloseTo(1, 5);
      expect(varX / total).toBeCloseTo(sigma * sigma, 1);
      expect(boxRadiusForSigma(sigma)).toBeGreaterThan(0);
    }
    const flat = new Float32Array(16 * 16 * 3).fill(0.3);
    gaussianBlur(flat, 16, 3, 1.7);
    expect(flat.every((v) => Math.abs(v - 0.3) < 1e-6)).toBe(true);
  });

  it('resizes with an antialiased (PIL) bilinear filter: 3x-shrunk stripes average out instead of aliasing', () => {
    const w = 48;
    const img = { data: Uint8Array.from({ length: w * w }, (_, i) => (i % 2) * 255), height: w, width: w };
    const out = new Float32Array(16 * 16);
    resizeCrop(img, 1, { top: 0, left: 0, h: w, w }, 16, false, out);
    for (const v of out) expect(Math.abs(v - 0.5)).toBeLessThan(0.1); // plain bilinear gives 0 or 1 here
    const ramp = { data: Uint8Array.from({ length: 8 * 8 }, (_, i) => (i % 8) * 30), height: 8, width: 8 };
    const flipped = new Float32Array(8 * 8);
    const same = new Float32Array(8 * 8);
    resizeCrop(ramp, 1, { top: 0, left: 0, h: 8, w: 8 }, 8, false, same);
    resizeCrop(ramp, 1, { top: 0, left: 0, h: 8, w: 8 }, 8, true, flipped);
    expect(Array.from(same.subarray(0, 8), (v) => Math.round(v * 255))).toEqual([
      0, 30, 60, 90, 120, 150, 180, 210,
    ]);
    expect(Array.from(flipped.subarray(0, 8), (v) => Math.round(v * 255))).toEqual([
      210, 180, 150, 120, 90, 60, 30, 0,
    ]);
  });

  it.each([
    ['hue +1/3 turns red into green', (p: Float32Array) => adjustHue(p, 1 / 3), [1, 0, 0], [0, 1, 0]],
    ['hue -1/3 turns red into blue', (p: Float32Array) => adjustHue(p, -1 / 3), [1, 0, 0], [0, 0, 1]],
    ['hue 0 is the identity', (p: Float32Array) => adjustHue(p, 0), [0.2, 0.5, 0.9], [0.2, 0.5, 0.9]],
    [
      'brightness scales and clips',
      (p: Float32Array) => adjustBrightness(p, 2),
      [0.2, 0.5, 0.9],
      [0.4, 1, 1],
    ],
    [
      'saturation 0 is the luma grey',
      (p: Float32Array) => adjustSaturation(p, 0),
      [1, 0, 0],
      [0.299, 0.299, 0.299],
    ],
    [
      'contrast 0 is the mean luma',
      (p: Float32Array) => adjustContrast(p, 3, 0),
      [1, 0, 0],
      [0.299, 0.299, 0.299],
    ],
    ['grayscale is ITU-R 601 luma', (p: Float32Array) => toGrayscale(p), [0, 1, 0], [0.587, 0.587, 0.587]],
  ])('%s', (_, op, rgb, want) => {
    const px = Float32Array.from(rgb);
    op(px);
    Array.from(px).forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
  });
});

describe('resize and Gaussian blur in WebAssembly SIMD', () => {
  it.each([
    ['a 2x shrink, mirrored', { top: 7, left: 30, h: 300, w: 410 }, true],
    ['an enlargement', { top: 100, left: 200, h: 90, w: 120 }, false],
    ['the whole image', { top: 0, left: 0, h: 375, w: 500 }, false],
  ])('resizes %s as the JavaScript passes do', (_, box, flip) => {
    const rng = new Rng(4);
    const img = {
      data: Uint8Array.from({ length: 375 * 500 * 3 }, () => rng.int(256)),
      height: 375,
      width: 500,
    };
    const hx = bilinearTaps(box.left, box.w, 224, flip, 1 / 255);
    const vy = bilinearTaps(box.top, box.h, 224, false, 1);
    const js = new Float32Array(224 * 224 * 3);
    const simd = new Float32Array(224 * 224 * 3);
    resizeCropJs(img, 3, box, 224, hx, vy, js);
    expect(resizeCropSimd(img, 3, box, 224, hx, vy, simd)).toBe(true);
    let worst = 0;
    for (let i = 0; i < js.length; i++) worst = Math.max(worst, Math.abs(js[i] - simd[i]));
    expect(worst).toBeLessThan(1e-5);
    expect(js.some((v) => v > 0.5)).toBe(true);
  });

  it.each([0.1, 0.7, 1.3, 2])('matches the JavaScript passes at sigma %s (224 px RGB)', (sigma) => {
    const rng = new Rng(9);
    const px = Float32Array.from({ length: 224 * 224 * 3 }, () => rng.next());
    const js = px.slice();
    gaussianBlurJs(js, 224, 3, boxRadiusForSigma(sigma));
    expect(boxBlurSimd(px, 224, 3, boxRadiusForSigma(sigma))).toBe(true);
    let worst = 0;
    for (let i = 0; i < px.length; i++) worst = Math.max(worst, Math.abs(px[i] - js[i]));
    expect(worst).toBeLessThan(1e-5);
  });

  it.each([
    ['box-blur', BOX_BLUR_WASM_BASE64],
    ['resize-crop', RESIZE_CROP_WASM_BASE64],
  ])(
    'embeds exactly what %s.wat assembles to (run `npm run build:wasm` after editing it)',
    async (name, b64) => {
      const bytes = await assemble(fileURLToPath(new URL(`./${name}.wat`, import.meta.url)));
      expect(bytes.toString('base64')).toBe(b64);
    },
  );
});
