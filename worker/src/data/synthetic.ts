/**
 * A built-in synthetic dataset with real class structure, so learned features can be evaluated
 * without downloads (the embedded default). A class is a shape (disc, square, cross, ring, diamond:
 * all mirror-symmetric, so horizontal flips keep the class) filled with a grating of a class
 * frequency and orientation (0 or 90 degrees, also flip-invariant). What varies between images of a
 * class is what the MoCo augmentations vary too: position and size (RandomResizedCrop), colour within
 * the colour-jitter range, the grating's phase, and pixel noise. So instance discrimination under those
 * augmentations has to learn shape and texture, which is what identifies the class; colour says
 * nothing about the class.
 */
import { Rng } from '../util/rng.ts';
import { DenseDataset, channelStats } from './dataset.ts';

export interface SyntheticOptions {
  classes: number;
  perClass: number;
  size: number;
  channels: number;
  seed: number;
}

/** Deterministic: the same options give the same bytes. */
export function makeSyntheticDataset(opts: SyntheticOptions, split: 'train' | 'test'): DenseDataset {
  const { classes, perClass, size, channels } = opts;
  const classRng = new Rng(opts.seed * 7919 + 17); // class definitions are shared by both splits
  const levels = Math.max(1, Math.ceil(classes / SHAPES));
  const defs = Array.from({ length: classes }, (_, c) => ({
    shape: c % SHAPES,
    angle: Math.floor(c / SHAPES) % 2 === 0 ? 0 : Math.PI / 2,
    // cycles across the image: well apart so that RandomResizedCrop's zoom keeps levels distinct
    freq:
      1.5 * 3 ** Math.floor(c / SHAPES) * (1 + classRng.uniform(-0.05, 0.05)) * (levels > 2 ? 2 / levels : 1),
  }));
  const rng = new Rng(opts.seed * 104729 + (split === 'train' ? 1 : 2));
  const n = classes * perClass;
  const pixels = new Uint8Array(n * size * size * channels);
  const labels = new Uint8Array(n);
  const order = Array.from({ length: n }, (_, i) => i % classes);
  rng.shuffle(order);
  for (let i = 0; i < n; i++) {
    const c = order[i];
    labels[i] = c;
    drawImage(
      pixels.subarray(i * size * size * channels, (i + 1) * size * size * channels),
      defs[c],
      size,
      channels,
      rng,
    );
  }
  const stats = channelStats(pixels, channels);
  return new DenseDataset(
    `synthetic-${split}`,
    pixels,
    labels,
    size,
    size,
    channels,
    classes,
    stats.mean,
    stats.std,
  );
}

const SHAPES = 5;

interface ClassDef {
  angle: number;
  freq: number;
  shape: number;
}

function drawImage(out: Uint8Array, def: ClassDef, size: number, channels: number, rng: Rng): void {
  // Instance identity lives in what the augmentations keep: the stripes' exact angle (within the class's
  // band, mirror-symmetric around 0 or 90 degrees) and the shape's proportions (arm width, ring width).
  const angle = def.angle + rng.uniform(-0.35, 0.35);
  const detail = rng.uniform(0, 1);
  const freq = (def.freq * (1 + rng.uniform(-0.1, 0.1)) * 2 * Math.PI) / size;
  const phase = rng.uniform(0, 2 * Math.PI);
  const cx = rng.uniform(0.35, 0.65) * size;
  const cy = rng.uniform(0.35, 0.65) * size;
  const r = rng.uniform(0.25, 0.4) * size;
  const hue = 0.6 + rng.uniform(-0.03, 0.03);
  const base = hsvToRgb(hue, 0.6, 0.9);
  const bg = hsvToRgb((hue + 0.5) % 1, 0.3, 0.5);
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const g = 0.5 + 0.5 * Math.sin(freq * (x * ca + y * sa) + phase); // grating in [0, 1]
      const inside = insideShape(def.shape, x - cx, y - cy, r, detail);
      const noise = rng.normal() * 0.05;
      for (let ch = 0; ch < channels; ch++) {
        const col = channels === 1 ? 0.8 : inside ? base[ch] : bg[ch];
        const v = inside ? col * (0.55 + 0.45 * g) : col * (0.35 + 0.3 * g);
        out[(y * size + x) * channels + ch] = Math.max(0, Math.min(255, Math.round((v + noise) * 255)));
      }
    }
  }
}

/** `detail` in [0, 1] sets the proportions that distinguish instances of one shape. */
function insideShape(shape: number, dx: number, dy: number, r: number, detail: number): boolean {
  const d2 = dx * dx + dy * dy;
  const ax = Math.abs(dx);
  const ay = Math.abs(dy);
  if (shape === 0) return d2 <= r * r;
  if (shape === 1) return ax <= r * (0.7 + 0.2 * detail) && ay <= r * (0.7 + 0.2 * detail);
  const arm = r * (0.2 + 0.2 * detail);
  if (shape === 2) return (ax <= arm && ay <= r) || (ay <= arm && ax <= r);
  if (shape === 3) return d2 <= r * r && d2 >= (r * (0.4 + 0.3 * detail)) ** 2;
  return ax + ay <= r * (0.9 + 0.3 * detail);
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const table: [number, number, number][] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ];
  return table[i % 6];
}
