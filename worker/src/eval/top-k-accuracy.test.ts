import { describe, expect, it } from 'vitest';
import { topKAccuracy } from './top-k-accuracy.ts';

describe('topKAccuracy', () => {
  // 3 samples x 4 classes; label ranks: sample 0 rank 1, sample 1 rank 3, sample 2 rank 2.
  const scores = new Float32Array([
    0.9,
    0.1,
    0.0,
    0.0, //
    0.4,
    0.3,
    0.2,
    0.1, //
    0.1,
    0.5,
    0.7,
    0.0,
  ]);
  const labels = new Int32Array([0, 2, 1]);

  it('counts a hit when the label is among the k best scores', () => {
    expect(topKAccuracy(scores, labels, 4, 1)).toBeCloseTo(1 / 3, 12);
    expect(topKAccuracy(scores, labels, 4, 2)).toBeCloseTo(2 / 3, 12);
    expect(topKAccuracy(scores, labels, 4, 3)).toBe(1);
    expect(topKAccuracy(scores, labels, 4, 5)).toBe(1); // k above the class count is clamped
  });

  it('breaks ties towards the lower class index', () => {
    const tied = new Float32Array([0.5, 0.5, 0.5, 0.5]);
    expect(topKAccuracy(tied, new Int32Array([0]), 4, 1)).toBe(1);
    expect(topKAccuracy(tied, new Int32Array([3]), 4, 3)).toBe(0);
  });

  it('rejects mismatched shapes and bad k, naming the value', () => {
    expect(() => topKAccuracy(scores, labels, 3, 1)).toThrow('scores: expected 3 x 3 = 9 values, got 12');
    expect(() => topKAccuracy(scores, labels, 4, 0)).toThrow('k: expected an integer >= 1, got 0');
  });
});
