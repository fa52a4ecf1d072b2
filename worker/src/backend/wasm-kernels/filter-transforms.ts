/**
 * Pure filter rearrangements for the input gradient, done in one JavaScript pass over the filter
 * instead of Reverse + Transpose kernels (the wasm Reverse takes ~65 ms on a 3x3x512x512 filter).
 */

/**
 * Gather a sub-filter with taps `rows` x `cols` (indices into kh and kw, in output order) and swap the
 * channel axes: w: [kh, kw, Ci, Co] -> out: [rows.length, cols.length, Co, Ci].
 * With rows = [kh-1, ..., 0] and cols = [kw-1, ..., 0] this is the flipped, transposed filter of a
 * stride-1 input gradient; with every s-th tap it is one polyphase component of a stride-s one.
 */
export function gatherSwappedTaps(
  w: Float32Array,
  shape: readonly [number, number, number, number],
  rows: readonly number[],
  cols: readonly number[],
  out: Float32Array = new Float32Array(rows.length * cols.length * shape[2] * shape[3]),
): Float32Array {
  const [, kw, ci, co] = shape;
  let o = 0;
  for (const i of rows) {
    for (const j of cols) {
      const base = (i * kw + j) * ci * co;
      // out[.., .., c, k] = w[i, j, k, c]: read columns of the [Ci, Co] block.
      for (let c = 0; c < co; c++) {
        for (let k = 0; k < ci; k++) out[o++] = w[base + k * co + c];
      }
    }
  }
  return out;
}
