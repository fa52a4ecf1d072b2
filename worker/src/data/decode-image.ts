/**
 * Image bytes to HWC RGB uint8 with libvips (sharp): JPEG, PNG (8 or 16 bit, grey, palette, alpha) and
 * WebP. When the transform needs fewer pixels than the file holds, the JPEG is shrunk while it is decoded
 * (libjpeg's DCT scaling, 2-8x less work): `maxShrink` says by how much the caller's transform allows.
 */
import sharp from 'sharp';

/** A decoded image: HWC, 3 channels. */
export interface DecodedImage {
  data: Uint8Array;
  height: number;
  width: number;
}

/** The largest factor a transform allows an image of this size to be shrunk by before it is cropped. */
export type ShrinkLimit = (height: number, width: number) => number;

/** The shrink-on-load factor (pure): the largest of 1, 2, 4, 8 that is <= the limit. */
export function chooseShrink(height: number, width: number, maxShrink: ShrinkLimit): number {
  const limit = maxShrink(height, width);
  let f = 1;
  while (f < 8 && f * 2 <= limit) f *= 2;
  return f;
}

// One libvips thread per call: the loader runs one decode per worker thread (or a few), so the CPUs are
// already shared out, and more threads per image only add contention.
sharp.concurrency(1);
sharp.cache(false);

/** Decodes `bytes` to RGB, shrunk on load as far as `maxShrink` allows (absent: full size). */
export async function decodeImage(bytes: Uint8Array, maxShrink?: ShrinkLimit): Promise<DecodedImage> {
  let img = sharp(bytes, { failOn: 'error', limitInputPixels: 1 << 28 });
  if (maxShrink) {
    const { height = 0, width = 0 } = await img.metadata();
    const f = chooseShrink(height, width, maxShrink);
    if (f > 1) {
      img = img.resize(Math.ceil(width / f), Math.ceil(height / f), { fit: 'fill', kernel: 'linear' });
    }
  }
  const { data, info } = await img
    .toColourspace('srgb')
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3)
    throw new Error(`expected 3 colour channels after conversion to sRGB, got ${info.channels}`);
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    height: info.height,
    width: info.width,
  };
}
