/**
 * Reads images of a dataset with a few in flight (so a streaming dataset's file reads and decodes
 * overlap the caller's work on the previous image) and hands each to `use` as it arrives. Memory stays
 * bounded by `lanes` decoded images, whatever the number of indices.
 */
import type { ImageDataset, LabeledImage } from './dataset.ts';
import type { ShrinkLimit } from './decode-image.ts';

export async function forEachImage(
  ds: ImageDataset,
  indices: ArrayLike<number>,
  use: (img: LabeledImage, position: number) => void,
  opts: { maxShrink?: ShrinkLimit; lanes?: number } = {},
): Promise<void> {
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < indices.length; i = next++) use(await ds.read(indices[i], opts.maxShrink), i);
  };
  await Promise.all(Array.from({ length: opts.lanes ?? 2 }, lane));
}

/** [start, start + count) as indices. */
export function range(start: number, count: number): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => start + i);
}
