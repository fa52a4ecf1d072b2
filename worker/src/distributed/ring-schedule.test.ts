import { describe, expect, it } from 'vitest';
import {
  allGatherSchedule,
  allReduceSchedule,
  broadcastRoles,
  chunkRanges,
  segmentRanges,
} from './ring-schedule.ts';

describe('allReduceSchedule', () => {
  it('is the textbook table for 3 ranks (rank 1)', () => {
    expect(allReduceSchedule(1, 3)).toEqual([
      { send: 1, recv: 0, op: 'reduce' },
      { send: 0, recv: 2, op: 'reduce' },
      { send: 2, recv: 1, op: 'copy' },
      { send: 1, recv: 0, op: 'copy' },
    ]);
  });

  it.each([1, 2, 3, 4, 5, 8])(
    'forwards what it received at the previous step and matches its neighbours (n=%i)',
    (n) => {
      for (let r = 0; r < n; r++) {
        const mine = allReduceSchedule(r, n);
        const prev = allReduceSchedule((r + n - 1) % n, n);
        expect(mine).toHaveLength(2 * (n - 1));
        for (let t = 0; t < mine.length; t++) {
          // What my predecessor sends at step t is what I receive at step t.
          expect(mine[t].recv).toBe(prev[t].send);
          if (t + 1 < mine.length) expect(mine[t + 1].send).toBe(mine[t].recv);
        }
        // After reduce-scatter, rank r owns segment r+1, which it sends first in all-gather.
        if (n > 1) expect(mine[n - 1].send).toBe((r + 1) % n);
      }
    },
  );

  it('reduces every segment exactly n-1 times across the ring', () => {
    const n = 4;
    const reductions = new Map<string, number>();
    for (let r = 0; r < n; r++) {
      for (const s of allReduceSchedule(r, n).filter((x) => x.op === 'reduce')) {
        reductions.set(`${s.recv}`, (reductions.get(`${s.recv}`) ?? 0) + 1);
      }
    }
    expect(Object.fromEntries(reductions)).toEqual({ '0': 3, '1': 3, '2': 3, '3': 3 });
  });
});

describe('allGatherSchedule', () => {
  it('starts by sending the own block and receives every other block once', () => {
    const n = 5;
    for (let r = 0; r < n; r++) {
      const steps = allGatherSchedule(r, n);
      expect(steps[0].send).toBe(r);
      expect(steps.map((s) => s.recv).sort()).toEqual([0, 1, 2, 3, 4].filter((b) => b !== r));
    }
  });
});

describe('segmentRanges / chunkRanges', () => {
  it.each([
    [
      10,
      3,
      [
        [0, 4],
        [4, 7],
        [7, 10],
      ],
    ],
    [
      2,
      4,
      [
        [0, 1],
        [1, 2],
        [2, 2],
        [2, 2],
      ],
    ],
    [
      0,
      2,
      [
        [0, 0],
        [0, 0],
      ],
    ],
  ])('splits %i elements into %i balanced segments', (len, parts, expected) => {
    expect(segmentRanges(len, parts)).toEqual(expected.map(([start, end]) => ({ start, end })));
  });

  it('chunks a range, the last chunk short, and an empty range into nothing', () => {
    expect(chunkRanges({ start: 3, end: 10 }, 3)).toEqual([
      { start: 3, end: 6 },
      { start: 6, end: 9 },
      { start: 9, end: 10 },
    ]);
    expect(chunkRanges({ start: 5, end: 5 }, 3)).toEqual([]);
    expect(() => chunkRanges({ start: 0, end: 1 }, 0)).toThrow('chunkElems must be an integer >= 1, got 0');
  });
});

describe('broadcastRoles', () => {
  it('lets everyone but the root receive and stops forwarding before the root', () => {
    expect([0, 1, 2].map((r) => broadcastRoles(r, 3, 1))).toEqual([
      { receives: true, forwards: false },
      { receives: false, forwards: true },
      { receives: true, forwards: true },
    ]);
  });
});
