/**
 * Gradient fusion: a deterministic layout of many gradient buffers into a few fixed-size buckets, the same on
 * every rank because it depends only on the buffer lengths and the bucket size (as torch DDP buckets, but by
 * argument order instead of autograd order, which the SPMD training loop keeps fixed).
 */

/** A slice of one input buffer placed at `bucketOffset` in a bucket (all in elements). */
export interface BucketPiece {
  buffer: number;
  srcOffset: number;
  bucketOffset: number;
  length: number;
}

export interface Bucket {
  /** Elements in the bucket, <= bucketElems. */
  length: number;
  pieces: BucketPiece[];
}

/**
 * Pack buffers of the given lengths, in order, into buckets of `bucketElems` elements. Buffers are split
 * across bucket boundaries so that every bucket but the last is exactly full: a large layer does not produce
 * one oversized bucket, and small ones are fused instead of paying a ring latency each.
 */
export function planBuckets(lengths: readonly number[], bucketElems: number): Bucket[] {
  if (!Number.isInteger(bucketElems) || bucketElems < 1) {
    throw new RangeError(`planBuckets: bucketElems must be an integer >= 1, got ${bucketElems}`);
  }
  const buckets: Bucket[] = [];
  let current: Bucket = { length: 0, pieces: [] };
  lengths.forEach((len, buffer) => {
    let srcOffset = 0;
    while (srcOffset < len) {
      const take = Math.min(len - srcOffset, bucketElems - current.length);
      current.pieces.push({ buffer, srcOffset, bucketOffset: current.length, length: take });
      current.length += take;
      srcOffset += take;
      if (current.length === bucketElems) {
        buckets.push(current);
        current = { length: 0, pieces: [] };
      }
    }
  });
  if (current.length > 0) buckets.push(current);
  return buckets;
}

/** True when a bucket is one contiguous slice of one buffer, so it can be reduced in place without packing. */
export function isSinglePiece(bucket: Bucket): boolean {
  return bucket.pieces.length === 1;
}
