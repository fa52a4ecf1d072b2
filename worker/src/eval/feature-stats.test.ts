import { describe, expect, it } from 'vitest';
import {
  alignment,
  histogram,
  keySpreadEigenvalues,
  pairCosines,
  summarize,
  symmetricEigenvalues,
  uniformity,
  type CropEmbeddings,
} from './feature-stats.ts';

// m = 2 crops of n = 2 images in d = 2, crop-major: rows [c0 i0, c0 i1, c1 i0, c1 i1].
const e: CropEmbeddings = {
  data: new Float32Array([1, 0, 0, 1, 0.6, 0.8, -1, 0]),
  m: 2,
  n: 2,
  d: 2,
};

describe('feature statistics (hand-computed)', () => {
  it('pairCosines: positives are crops of one image, negatives the same crop of two images', () => {
    const { positive, negative } = pairCosines(e);
    // image 0: (1,0).(0.6,0.8) = 0.6; image 1: (0,1).(-1,0) = 0
    expect(Array.from(positive)).toEqual([expect.closeTo(0.6, 6), 0]);
    // crop 0: (1,0).(0,1) = 0; crop 1: (0.6,0.8).(-1,0) = -0.6
    expect(Array.from(negative)).toEqual([0, expect.closeTo(-0.6, 6)]);
  });

  it('pairCosines normalises rows itself', () => {
    const scaled = { ...e, data: e.data.map((x, i) => x * (i < 2 ? 3 : 1)) };
    expect(pairCosines(scaled).positive[0]).toBeCloseTo(0.6, 6);
  });

  it('alignment is the mean squared distance of positive pairs', () => {
    // image 0: (0.4^2 + 0.8^2) = 0.8; image 1: (1 + 1) = 2  -> mean 1.4
    expect(alignment(e)).toBeCloseTo(1.4, 6);
  });

  it('uniformity is log mean exp(-2 d^2) over pairs of distinct images (crop 0)', () => {
    // one pair: (1,0) vs (0,1), d^2 = 2 -> log exp(-4) = -4
    expect(uniformity(e)).toBeCloseTo(-4, 6);
    const three: CropEmbeddings = { data: new Float32Array([1, 0, 0, 1, -1, 0]), m: 1, n: 3, d: 2 };
    // d^2: 2, 4, 2 -> log((2 e^-4 + e^-8) / 3)
    expect(uniformity(three)).toBeCloseTo(Math.log((2 * Math.exp(-4) + Math.exp(-8)) / 3), 9);
  });

  it('histogram bins values over [lo, hi], clamping the ends', () => {
    expect(histogram([-1, -0.5, 0, 0.49, 0.5, 1, 7], 4)).toEqual({ lo: -1, hi: 1, counts: [1, 1, 2, 3] });
    expect(() => histogram([0], 0)).toThrow('bins: expected an integer >= 1, got 0');
  });

  it('symmetricEigenvalues of [[2,1],[1,2]] are 3 and 1; of a diagonal its entries', () => {
    const ev = symmetricEigenvalues([2, 1, 1, 2], 2);
    expect(ev[0]).toBeCloseTo(3, 10);
    expect(ev[1]).toBeCloseTo(1, 10);
    expect(symmetricEigenvalues([1, 0, 0, 0, 5, 0, 0, 0, 2], 3)).toEqual([5, 2, 1]);
  });

  it('keySpreadEigenvalues: the non-zero eigenvalue of Sigma for two keys is |k1 - k2|^2 / 4', () => {
    // image 0 keys (1,0) and (0.6,0.8): Sigma = (1/2) sum (k - mu)(k - mu)^T, rank 1,
    // eigenvalue = |k1 - k2|^2 / 4 = 0.8 / 4 = 0.2
    const ev = keySpreadEigenvalues(e, 0);
    expect(ev[0]).toBeCloseTo(0.2, 6);
    expect(ev[1]).toBeCloseTo(0, 6);
  });

  it('summarize gives mean, median, min and max', () => {
    expect(summarize([3, 1, 2, 10])).toEqual({ mean: 4, median: 2.5, min: 1, max: 10 });
  });
});
