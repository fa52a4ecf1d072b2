/**
 * ImageFolder directories (torchvision layout): <root>/<class>/<image>.{jpg,jpeg,png}; classes sorted
 * by name. Images are decoded once at load and kept as HWC RGB. An undecodable image is an error that
 * names the file, or a counted skip when `skipBadImages` is set.
 */
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { JclError } from '../util/errors.ts';
import type { ImageDataset } from './dataset.ts';

const EXTENSIONS = new Set(['.jpg', '.jpeg', '.png']);
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

interface Decoded {
  data: Uint8Array;
  height: number;
  width: number;
}

export function loadImageFolder(
  root: string,
  opts: { skipBadImages: boolean; log?: (msg: string) => void },
): ImageDataset {
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new JclError('not_found', `data.path: image folder not found, got ${root}`);
  const classes = readdirSync(root)
    .filter((d) => statSync(join(root, d)).isDirectory())
    .sort();
  if (classes.length === 0)
    throw new JclError('invalid_data', `data.path: ${root} has no class sub-directories`);
  const images: Decoded[] = [];
  const labels: number[] = [];
  let skipped = 0;
  classes.forEach((cls, label) => {
    for (const f of readdirSync(join(root, cls)).sort()) {
      if (!EXTENSIONS.has(extname(f).toLowerCase())) continue;
      const file = join(root, cls, f);
      try {
        images.push(decodeImage(readFileSync(file)));
        labels.push(label);
      } catch (cause) {
        if (!opts.skipBadImages) {
          throw new JclError(
            'invalid_data',
            `data.path: cannot decode ${file} (set data.skipBadImages to skip such files)`,
            { cause },
          );
        }
        skipped++;
        opts.log?.(`skipping undecodable image ${file}`);
      }
    }
  });
  if (images.length === 0)
    throw new JclError('invalid_data', `data.path: no decodable .jpg/.jpeg/.png images under ${root}`);
  return {
    name: `image-folder:${root}`,
    size: images.length,
    channels: 3,
    numClasses: classes.length,
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
    skipped,
    image: (i) => images[i],
    label: (i) => labels[i],
  };
}

/** JPEG or PNG bytes to HWC RGB. */
export function decodeImage(bytes: Buffer): Decoded {
  const isPng = bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50;
  const rgba = isPng
    ? PNG.sync.read(bytes)
    : jpeg.decode(bytes, { useTArray: true, maxMemoryUsageInMB: 1024 });
  const { width, height } = rgba;
  const src = rgba.data as Uint8Array;
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    data[p * 3] = src[p * 4];
    data[p * 3 + 1] = src[p * 4 + 1];
    data[p * 3 + 2] = src[p * 4 + 2];
  }
  return { data, height, width };
}
