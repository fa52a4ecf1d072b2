/** The padding plans: 'same' only where TensorFlow pads exactly the symmetric cells, explicit off-native. */
import { describe, expect, it } from 'vitest';
import { planPadding, sameEqualsSymmetric } from './padding.ts';

describe('sameEqualsSymmetric', () => {
  it.each([
    // size, kernel, stride, pad, equal
    [32, 3, 1, 1, true], // 3x3 stride 1: 'same' pads 1 + 1
    [7, 3, 1, 1, true],
    [32, 3, 2, 1, false], // even size, stride 2: 'same' pads 0 + 1
    [7, 3, 2, 1, true], // odd size, stride 2: 'same' pads 1 + 1
    [224, 7, 2, 3, false], // the ImageNet stem: 'same' pads 2 + 3
    [225, 7, 2, 3, true],
    [112, 3, 2, 1, false], // the stem's max-pool
    [5, 5, 1, 2, true],
  ])('size %i kernel %i stride %i pad %i -> %s', (size, kernel, stride, pad, equal) => {
    expect(sameEqualsSymmetric(size, kernel, stride, pad)).toBe(equal);
  });
});

describe('planPadding', () => {
  it.each([
    ['tensorflow', [32, 32], 3, 1, 1, 'same'],
    ['tensorflow', [32, 32], 3, 2, 1, 'pad-then-valid'],
    ['tensorflow', [7, 8], 3, 2, 1, 'pad-then-valid'], // one axis differs: pad both
    ['tensorflow', [7, 7], 3, 2, 1, 'same'],
    ['tensorflow', [32, 32], 1, 2, 0, 'valid'],
    ['wasm', [32, 32], 3, 2, 1, 'explicit'],
    ['cpu', [32, 32], 3, 1, 1, 'explicit'],
    ['cpu', [32, 32], 1, 1, 0, 'valid'],
  ] as const)('%s [%j] k%i s%i p%i -> %s', (backend, hw, kernel, stride, pad, plan) => {
    expect(planPadding(backend, hw, kernel, stride, pad)).toBe(plan);
  });
});
