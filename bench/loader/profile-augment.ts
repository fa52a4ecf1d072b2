/**
 * Profiles each MoCo v2 augmentation op at 224 px on one decoded 500x375 JPEG (q90), one thread:
 *   npx tsx bench/loader/profile-augment.ts [--size 224] [--reps 200]
 * Prints CPU ms per call of every op, and of a whole crop with the default (MoCo v2) settings.
 */
import sharp from 'sharp';
import { parseTrainingConfig } from '../../worker/src/config/parse-config.ts';
import { augmentInto } from '../../worker/src/data/augment.ts';
import {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  boxRadiusForSigma,
  gaussianBlur,
  gaussianBlurJs,
  resizeCrop,
  toGrayscale,
} from '../../worker/src/data/augment-ops.ts';
import { decodeImage } from '../../worker/src/data/decode-image.ts';
import { Rng } from '../../worker/src/util/rng.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const size = arg('size', 224);
const reps = arg('reps', 200);

const noise = new Rng(7);
const raw = Buffer.alloc(500 * 375 * 3);
for (let i = 0; i < raw.length; i++) raw[i] = ((i / 3) % 500) * 0.4 + noise.int(64);
const jpeg = await sharp(raw, { raw: { width: 500, height: 375, channels: 3 } })
  .jpeg({ quality: 90 })
  .toBuffer();
const img = await decodeImage(jpeg);
const px = new Float32Array(size * size * 3);
const box = { top: 20, left: 40, h: 300, w: 400 };

// CPU time of this (single-threaded) process, not wall time: on a shared machine the wall clock
// mostly measures the other tenants.
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
function time(name: string, fn: () => void): void {
  for (let i = 0; i < 5; i++) fn();
  const t0 = cpuMs();
  for (let i = 0; i < reps; i++) fn();
  console.log(`${name.padEnd(28)} ${((cpuMs() - t0) / reps).toFixed(3)} ms CPU`);
}

{
  const t0 = cpuMs();
  for (let i = 0; i < 50; i++) await decodeImage(jpeg);
  console.log(`${'decode 500x375 JPEG'.padEnd(28)} ${((cpuMs() - t0) / 50).toFixed(3)} ms CPU`);
}
time('resizeCrop 400x300 -> S', () => resizeCrop(img, 3, box, size, true, px));
time('brightness', () => adjustBrightness(px, 1.1));
time('contrast', () => adjustContrast(px, 3, 0.9));
time('saturation', () => adjustSaturation(px, 1.2));
time('hue', () => adjustHue(px, 0.05));
time('grayscale', () => toGrayscale(px));
time('gaussianBlur sigma 1.05', () => gaussianBlur(px, size, 3, 1.05));
time('gaussianBlur sigma 2', () => gaussianBlur(px, size, 3, 2));
time('gaussianBlur JS sigma 2', () => gaussianBlurJs(px, size, 3, boxRadiusForSigma(2)));
const aug = parseTrainingConfig({}).data.augment;
const out = new Float32Array(size * size * 3);
const rng = new Rng(1);
const norm = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
time('whole MoCo v2 crop', () => augmentInto(img, 3, size, aug, norm, rng, out, 0));
