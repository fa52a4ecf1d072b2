import { describe, expect, it } from 'vitest';
import { allReduceMs, predictStep, type Exchange, type Network, type Segment } from './scaling-model.ts';

const net = (workers: number, linkGbps = 100): Network => ({
  workers,
  linkGbps,
  busEfficiency: 1,
  hopLatencyUs: 0,
});
const f32: Exchange = { bytesPerElement: 4, convertNsPerElement: 0, overlap: false };

describe('scaling model', () => {
  it.each([
    // 2(n-1)/n * 25e6 elements * 4 B at 100 Gb/s = 12.5 GB/s
    [2, 8, 4, 100, 8],
    [8, 8, 4, 100, 14],
    [8, 8, 2, 100, 7],
    [8, 8, 4, 25, 56],
  ])('ring all-reduce of 25M elements, n=%i: %s', (n, _, bytes, gbps, wantMs) => {
    expect(allReduceMs(25e6, net(n, gbps), { ...f32, bytesPerElement: bytes })).toBeCloseTo(wantMs, 6);
  });

  it('costs nothing on one worker and adds 2(n-1) hop latencies otherwise', () => {
    expect(allReduceMs(1e6, net(1), f32)).toBe(0);
    expect(allReduceMs(0, { ...net(4), hopLatencyUs: 100 }, f32)).toBe(0);
    const withLatency = allReduceMs(1e6, { ...net(4), hopLatencyUs: 100 }, f32);
    expect(withLatency - allReduceMs(1e6, net(4), f32)).toBeCloseTo(0.6, 9);
  });

  const segments: Segment[] = [
    { name: 'head', backwardMs: 10, elements: 25e6 / 4 },
    { name: 'tail', backwardMs: 30, elements: (3 * 25e6) / 4 },
  ];

  it('sequential: forward + backward + one all-reduce of everything', () => {
    const p = predictStep(20, segments, net(8), f32);
    expect(p.commMs).toBeCloseTo(14, 6);
    expect(p.stepMs).toBeCloseTo(20 + 40 + 14, 6);
    expect(p.exposedMs).toBeCloseTo(14, 6);
    expect(p.efficiency).toBeCloseTo(60 / 74, 6);
  });

  it('overlap: the first bucket hides behind the later backward, the last one is exposed', () => {
    const p = predictStep(20, segments, net(8), { ...f32, overlap: true });
    // head: ready at 10, on the wire 3.5 ms -> 13.5; tail: ready at 40, 10.5 ms -> 50.5
    expect(p.stepMs).toBeCloseTo(20 + 50.5, 6);
    expect(p.exposedMs).toBeCloseTo(10.5, 6);
  });

  it('overlap never beats compute alone and is never slower than sequential here', () => {
    for (const n of [2, 8, 64])
      for (const gbps of [1, 25, 400]) {
        const seq = predictStep(20, segments, net(n, gbps), f32);
        const ovl = predictStep(20, segments, net(n, gbps), { ...f32, overlap: true });
        expect(ovl.stepMs).toBeGreaterThanOrEqual(60);
        expect(ovl.stepMs).toBeLessThanOrEqual(seq.stepMs + 1e-9);
      }
  });
});
