/**
 * Writes a torchvision ImageFolder of JPEGs for the loader benchmark (never into the repository):
 *   npx tsx bench/loader/make-image-folder.ts --out /tmp/jcl-imgf-1k --images 1000 [--classes 10]
 *     [--width 500] [--height 375] [--quality 90]
 * Each image is a smooth random colour field (a small random image upscaled) plus pixel noise, so it
 * compresses like a photograph (about 60-120 KB at q90 for 500x375) rather than like a flat test card.
 * Deterministic; an existing complete folder is kept as is.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../../worker/src/util/rng.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const out = arg('out', '');
if (!out) throw new Error('--out: required (a directory under /tmp)');
const images = Number(arg('images', '1000'));
const classes = Number(arg('classes', '10'));
const width = Number(arg('width', '500'));
const height = Number(arg('height', '375'));
const quality = Number(arg('quality', '90'));

const count = (dir: string) => (existsSync(dir) ? readdirSync(dir).length : 0);
const existing = Array.from({ length: classes }, (_, c) =>
  count(join(out, `class${String(c).padStart(3, '0')}`)),
);
if (existing.reduce((s, x) => s + x, 0) === images) {
  console.log(`${out}: already has ${images} images`);
  process.exit(0);
}

const rng = new Rng(12345);
// A few noise tiles reused at random offsets: per-image noise without generating 500x375x3 numbers each.
const tiles = Array.from({ length: 4 }, () => {
  const t = Buffer.alloc(width * height * 3 * 2);
  for (let i = 0; i < t.length; i++) t[i] = Math.round(rng.normal() * 10 + 128) & 255;
  return t;
});
const t0 = performance.now();
for (let i = 0; i < images; i++) {
  const cls = join(out, `class${String(i % classes).padStart(3, '0')}`);
  mkdirSync(cls, { recursive: true });
  const small = Buffer.alloc(16 * 12 * 3);
  for (let k = 0; k < small.length; k++) small[k] = rng.int(256);
  const field = await sharp(small, { raw: { width: 16, height: 12, channels: 3 } })
    .resize(width, height, { kernel: 'cubic' })
    .raw()
    .toBuffer();
  const tile = tiles[i % tiles.length];
  const off = rng.int(width * height) * 3;
  for (let k = 0; k < field.length; k++) {
    const v = field[k] + tile[off + k] - 128;
    field[k] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  await sharp(field, { raw: { width, height, channels: 3 } })
    .jpeg({ quality })
    .toFile(join(cls, `img${String(i).padStart(7, '0')}.jpg`));
}
console.log(`${out}: wrote ${images} images in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
