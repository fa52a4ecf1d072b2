/**
 * Top-k classification accuracy from class scores (linear evaluation reports top-1 and top-5).
 * Pure: host arrays in, a fraction out.
 */

/**
 * Fraction of rows whose label is among the k highest scores.
 * scores: [n, numClasses] row-major; labels: [n]. Ties are broken towards the lower class index
 * (a label tied with the k-th score counts only if it comes first), so the result is deterministic.
 * k larger than numClasses is clamped (every label is then a hit).
 */
export function topKAccuracy(
  scores: Float32Array,
  labels: Int32Array,
  numClasses: number,
  k: number,
): number {
  const n = labels.length;
  if (scores.length !== n * numClasses)
    throw new RangeError(
      `scores: expected ${n} x ${numClasses} = ${n * numClasses} values, got ${scores.length}`,
    );
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k: expected an integer >= 1, got ${k}`);
  if (n === 0) return 0;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const row = i * numClasses;
    const y = labels[i];
    const sy = scores[row + y];
    // Rank of the label = classes that beat it (higher score, or equal score at a lower index).
    let better = 0;
    for (let c = 0; c < numClasses && better < k; c++) {
      const s = scores[row + c];
      if (s > sy || (s === sy && c < y)) better++;
    }
    if (better < k) hits++;
  }
  return hits / n;
}
