import { describe, expect, it } from 'vitest';
import { planBuckets } from './buckets.ts';

describe('planBuckets', () => {
  it('fuses small buffers and splits large ones so every bucket but the last is full', () => {
    expect(planBuckets([3, 2, 9, 1], 5)).toEqual([
      {
        length: 5,
        pieces: [
          { buffer: 0, srcOffset: 0, bucketOffset: 0, length: 3 },
          { buffer: 1, srcOffset: 0, bucketOffset: 3, length: 2 },
        ],
      },
      { length: 5, pieces: [{ buffer: 2, srcOffset: 0, bucketOffset: 0, length: 5 }] },
      {
        length: 5,
        pieces: [
          { buffer: 2, srcOffset: 5, bucketOffset: 0, length: 4 },
          { buffer: 3, srcOffset: 0, bucketOffset: 4, length: 1 },
        ],
      },
    ]);
  });

  it('skips empty buffers and returns nothing for no data', () => {
    expect(planBuckets([0, 0], 4)).toEqual([]);
    expect(planBuckets([0, 2], 4)).toEqual([
      { length: 2, pieces: [{ buffer: 1, srcOffset: 0, bucketOffset: 0, length: 2 }] },
    ]);
  });

  it('rejects a bucket size below one element', () => {
    expect(() => planBuckets([1], 0)).toThrow('bucketElems must be an integer >= 1, got 0');
  });
});
