/**
 * Frozen backbone features for evaluation: BN in inference mode, global average pooled, evaluation
 * transform (centre crop + resize + normalise), in batches so memory stays bounded.
 */
import * as tf from '../tf.ts';
import type { ImageDataset } from '../data/dataset.ts';
import { centerInto, centerShrinkLimit } from '../data/augment.ts';
import { forEachImage, range } from '../data/for-each-image.ts';
import type { Encoder } from '../model/encoder.ts';
import { yieldToEventLoop } from '../util/yield-to-event-loop.ts';

/** Returns features [n, D] (l2-normalised when `normalize`) and labels [n]. */
export async function extractFeatures(
  enc: Encoder,
  ds: ImageDataset,
  opts: { size: number; batch?: number; limit?: number; normalize?: boolean },
): Promise<{ features: Float32Array; labels: Int32Array; dim: number }> {
  const n = Math.min(ds.size, opts.limit ?? Infinity);
  const batch = opts.batch ?? 128;
  const c = ds.channels;
  const pix = opts.size * opts.size * c;
  const dim = enc.featureDim;
  const features = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const x = new Float32Array(count * pix);
    await forEachImage(
      ds,
      range(start, count),
      (img, i) => {
        centerInto(img, c, opts.size, { mean: ds.mean, std: ds.std }, x, i * pix);
        labels[start + i] = img.label;
      },
      { maxShrink: centerShrinkLimit(opts.size) },
    );
    const f = tf.tidy(() => {
      const h = enc.features(tf.tensor4d(x, [count, opts.size, opts.size, c]), { training: false }); // [count, D]
      return opts.normalize === false ? h : tf.div(h, tf.maximum(tf.norm(h, 'euclidean', 1, true), 1e-12));
    });
    features.set(f.dataSync() as Float32Array, start * dim);
    f.dispose();
    await yieldToEventLoop(); // keep answering peers between batches
  }
  return { features, labels, dim };
}
