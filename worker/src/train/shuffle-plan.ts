/**
 * Pure shuffle-BN bookkeeping (MoCo's batch_shuffle_ddp / batch_unshuffle_ddp): a permutation of the
 * global key batch chosen by rank 0, each rank encodes one contiguous slice of the permuted batch,
 * and the inverse permutation puts encoded keys back in their owners' order.
 */
import { Rng } from '../util/rng.ts';

/** A random permutation of [0, n). */
export function makePermutation(n: number, rng: Rng): Int32Array {
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  rng.shuffle(perm);
  return perm;
}

/** inverse[perm[i]] = i. */
export function invertPermutation(perm: Int32Array): Int32Array {
  const inv = new Int32Array(perm.length);
  for (let i = 0; i < perm.length; i++) inv[perm[i]] = i;
  return inv;
}

/**
 * Rows (of `rowSize` floats) of `src` taken in `order[start..start+count)`: out[i] = src[order[start+i]].
 */
export function gatherRows(
  src: Float32Array,
  rowSize: number,
  order: Int32Array,
  start: number,
  count: number,
): Float32Array {
  const out = new Float32Array(count * rowSize);
  for (let i = 0; i < count; i++) {
    const from = order[start + i] * rowSize;
    out.set(src.subarray(from, from + rowSize), i * rowSize);
  }
  return out;
}
