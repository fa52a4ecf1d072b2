import { describe, expect, it } from 'vitest';
import { StreamOrder } from './stream-order.ts';

describe('StreamOrder', () => {
  it('delivers frames in send order (frame i on stream i % streams) whatever order the streams bring them', () => {
    const order = new StreamOrder<number>(3);
    const out: number[] = [];
    // Frames 0..7 on streams 0,1,2,0,1,2,0,1; stream 2 lags, stream 1 runs ahead.
    for (const [stream, frame] of [
      [1, 1],
      [1, 4],
      [0, 0],
      [0, 3],
      [1, 7],
      [2, 2],
      [0, 6],
      [2, 5],
    ])
      order.accept(stream, frame, (f) => out.push(f));
    expect(out).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('with one stream passes every frame straight through', () => {
    const order = new StreamOrder<string>(1);
    const out: string[] = [];
    for (const f of ['a', 'b', 'c']) order.accept(0, f, (x) => out.push(x));
    expect(out).toEqual(['a', 'b', 'c']);
  });
});
