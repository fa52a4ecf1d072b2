import { describe, expect, it } from 'vitest';
import { planFilterGrad, planInputGrad, planPolyphaseAxis, type ConvGeometry } from './conv-grad-geometry.ts';
import { gatherSwappedTaps } from './filter-transforms.ts';

/** Geometry of a square conv as tfjs computes it (SAME pads split with the extra one after). */
function geometry(size: number, k: number, stride: number, pad: 'same' | 'valid'): ConvGeometry {
  const out = pad === 'same' ? Math.ceil(size / stride) : Math.floor((size - k) / stride) + 1;
  const total = pad === 'same' ? Math.max((out - 1) * stride + k - size, 0) : 0;
  const before = Math.floor(total / 2);
  return {
    inHeight: size,
    inWidth: size,
    outHeight: out,
    outWidth: out,
    filterHeight: k,
    filterWidth: k,
    strideHeight: stride,
    strideWidth: stride,
    padInfo: { top: before, bottom: total - before, left: before, right: total - before },
  };
}

describe('conv gradient geometry', () => {
  it.each([
    [
      '3x3 s1 same',
      geometry(32, 3, 1, 'same'),
      {
        pads: [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ],
        dilations: [1, 1],
        convOutHeight: 3,
        convOutWidth: 3,
      },
    ],
    [
      '3x3 s2 same: the last tap reads the one bottom pad row',
      geometry(32, 3, 2, 'same'),
      {
        pads: [
          [0, 0],
          [0, 1],
          [0, 1],
          [0, 0],
        ],
        dilations: [2, 2],
        convOutHeight: 3,
        convOutWidth: 3,
      },
    ],
    [
      '1x1 s2 valid, even input: one unused row',
      geometry(8, 1, 2, 'valid'),
      {
        pads: [
          [0, 0],
          [0, 0],
          [0, 0],
          [0, 0],
        ],
        dilations: [2, 2],
        convOutHeight: 2,
        convOutWidth: 2,
      },
    ],
  ])('filter gradient: %s', (_name, g, plan) => {
    expect(planFilterGrad(g)).toEqual(plan);
  });

  it('input gradient, stride 1 SAME: full correlation pads', () => {
    expect(planInputGrad(geometry(32, 3, 1, 'same'))).toEqual({
      upHeight: 32,
      upWidth: 32,
      keepHeight: 32,
      keepWidth: 32,
      pads: [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ],
    });
  });

  it('input gradient, explicit pad wider than the filter: no plan (stock fallback)', () => {
    const g = {
      ...geometry(6, 3, 1, 'valid'),
      outHeight: 6,
      padInfo: { top: 3, bottom: 1, left: 0, right: 0 },
    };
    expect(planInputGrad(g)).toBeNull();
  });

  it.each([
    // 3x3 stride 2 SAME on 32: pads (0, 1); residue 0 meets taps 0 and 2, residue 1 tap 1.
    [
      '3x3 s2 same',
      [32, 16, 3, 2, 0],
      { stride: 2, phaseLen: 16, cropBegin: 0, taps: [[2, 0], [1]], keep: 16, padAfter: 0 },
    ],
    // 1x1 stride 2: odd residues get no tap (zeros).
    [
      '1x1 s2',
      [8, 4, 1, 2, 0],
      { stride: 2, phaseLen: 4, cropBegin: 0, taps: [[0], []], keep: 4, padAfter: 0 },
    ],
    // 7x7 stride 2 pad 3 on 17 -> 9 outputs: phases cover 20 padded rows.
    [
      '7x7 s2 pad 3',
      [17, 9, 7, 2, 3],
      {
        stride: 2,
        phaseLen: 10,
        cropBegin: 3,
        taps: [
          [6, 4, 2, 0],
          [5, 3, 1],
        ],
        keep: 9,
        padAfter: 1,
      },
    ],
  ] as const)('polyphase axis: %s', (_name, [inSize, outSize, k, s, before], plan) => {
    expect(planPolyphaseAxis(inSize, outSize, k, s, before)).toEqual(plan);
  });

  it('gathers flipped taps with swapped channels', () => {
    // w: [2, 1, 2, 3] with w[i, 0, ci, co] = 100 i + 10 ci + co
    const w = Float32Array.from([0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112]);
    // rows [1, 0] (flipped), cols [0] -> out: [2, 1, 3, 2] with out[r, 0, co, ci] = w[rows[r], 0, ci, co]
    expect(Array.from(gatherSwappedTaps(w, [2, 1, 2, 3], [1, 0], [0]))).toEqual([
      100, 110, 101, 111, 102, 112, 0, 10, 1, 11, 2, 12,
    ]);
  });
});
