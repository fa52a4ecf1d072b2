import type { ShrinkLimit } from './decode-image.ts';

/** One image as HWC uint8 with its own height and width (ImageFolder images vary). */
export interface SourceImage {
  data: Uint8Array;
  height: number;
  width: number;
}

/** An image and the label that goes with it. */
export interface LabeledImage extends SourceImage {
  label: number;
}

/**
 * The view of an image dataset that augmentation, training and evaluation share. In-memory datasets
 * answer `read` at once; a streaming one (ImageFolder) reads and decodes the file when asked.
 */
export interface ImageDataset {
  readonly name: string;
  readonly size: number;
  readonly channels: number;
  readonly numClasses: number;
  /** Per-channel mean and std of pixel values in [0, 1], for normalisation. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /**
   * Image i and its label. `maxShrink` is how far the caller's transform lets a large image be shrunk,
   * so a streaming dataset may decode it at a reduced size (absent: full size). With skipping on, an
   * undecodable file is replaced by the next decodable one (and counted).
   */
  read(i: number, maxShrink?: ShrinkLimit): LabeledImage | Promise<LabeledImage>;
  /** The label of image i in the index. */
  label(i: number): number;
  /** Images skipped as undecodable so far (only when the user asked for skipping). */
  readonly skipped: number;
}

/** A dataset whose images all share one shape, stored contiguously. */
export class DenseDataset implements ImageDataset {
  readonly skipped = 0;
  constructor(
    readonly name: string,
    readonly pixels: Uint8Array,
    readonly labels: Uint8Array | Int32Array,
    readonly height: number,
    readonly width: number,
    readonly channels: number,
    readonly numClasses: number,
    readonly mean: readonly number[],
    readonly std: readonly number[],
  ) {}

  get size(): number {
    return this.labels.length;
  }

  image(i: number): SourceImage {
    const n = this.height * this.width * this.channels;
    return { data: this.pixels.subarray(i * n, (i + 1) * n), height: this.height, width: this.width };
  }

  read(i: number): LabeledImage {
    return { ...this.image(i), label: this.labels[i] };
  }

  label(i: number): number {
    return this.labels[i];
  }
}

/** Per-channel mean/std over (a sample of) the pixels, in [0, 1] units. */
export function channelStats(
  pixels: Uint8Array,
  channels: number,
  maxSamples = 1 << 22,
): { mean: number[]; std: number[] } {
  const stride = Math.max(1, Math.floor(pixels.length / channels / maxSamples));
  const sum = new Float64Array(channels);
  const sq = new Float64Array(channels);
  let count = 0;
  for (let p = 0; p * channels < pixels.length; p += stride) {
    for (let c = 0; c < channels; c++) {
      const v = pixels[p * channels + c] / 255;
      sum[c] += v;
      sq[c] += v * v;
    }
    count++;
  }
  const mean = Array.from(sum, (s) => s / count);
  const std = Array.from(sq, (s, c) => Math.sqrt(Math.max(s / count - mean[c] ** 2, 1e-12)));
  return { mean, std };
}
