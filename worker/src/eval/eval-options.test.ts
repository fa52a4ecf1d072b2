import { describe, expect, it } from 'vitest';
import { foldBooleanFlags, parseFeatureFlags, parseKnnFlags, parseLinearFlags } from './eval-options.ts';

describe('parseLinearFlags', () => {
  it('defaults to the paper protocol', () => {
    expect(parseLinearFlags({})).toEqual({
      epochs: 100,
      lr: 30,
      batch: 256,
      momentum: 0.9,
      weightDecay: 0,
      milestones: [60, 80],
      gamma: 0.1,
      cacheFeatures: false,
      limit: 0,
      cropScaleMin: 0.08,
      cropScaleMax: 1,
      flipProb: 0.5,
      seed: 0,
    });
  });

  it('takes every value from flags', () => {
    expect(
      parseLinearFlags({
        epochs: '5',
        lr: '0.5',
        batch: '32',
        momentum: '0',
        'weight-decay': '1e-4',
        milestones: '3',
        'cache-features': true,
        limit: '100',
      }),
    ).toMatchObject({
      epochs: 5,
      lr: 0.5,
      batch: 32,
      momentum: 0,
      weightDecay: 1e-4,
      milestones: [3],
      cacheFeatures: true,
      limit: 100,
    });
  });

  it('collects every problem with the flag and the value', () => {
    expect(() => parseLinearFlags({ epochs: '0', lr: 'fast', milestones: '60;80' })).toThrow(
      '--epochs: expected an integer >= 1, got "0"; --lr: expected a number > 0, got "fast"; ' +
        '--milestones: expected comma-separated non-negative integers like 60,80, got "60;80"',
    );
  });
});

describe('parseFeatureFlags', () => {
  it('defaults and errors', () => {
    expect(parseFeatureFlags({})).toEqual({
      images: 200,
      keys: 5,
      bins: 40,
      encoder: 'key',
      split: 'test',
      seed: 0,
    });
    expect(() => parseFeatureFlags({ keys: '1', encoder: 'both' })).toThrow(
      '--keys: expected an integer >= 2, got "1"; --encoder: expected query or key, got "both"',
    );
  });
});

describe('foldBooleanFlags', () => {
  it('accepts the operator spelling --flag true|false and the bare flag', () => {
    const b = ['cache-features'];
    expect(foldBooleanFlags(['--cache-features', 'true', '--lr', '3'], b)).toEqual([
      '--cache-features',
      '--lr',
      '3',
    ]);
    expect(foldBooleanFlags(['--cache-features', 'false', '--lr', '3'], b)).toEqual(['--lr', '3']);
    expect(foldBooleanFlags(['--cache-features', '--lr', '3'], b)).toEqual(['--cache-features', '--lr', '3']);
    expect(foldBooleanFlags(['--cache-features=false'], b)).toEqual([]);
  });
});

// Issue 19: `jcl eval knn --k abc` reported `eval.knnK: Expected integer, got null`.
describe('parseKnnFlags', () => {
  it.each([
    [{ k: 'abc' }, '--k: expected an integer >= 1, got "abc"'],
    [{ k: '0' }, '--k: expected an integer >= 1, got "0"'],
    [{ limit: '2.5' }, '--limit: expected an integer >= 1, got "2.5"'],
  ])('refuses %j: %s', (raw, says) => {
    expect(() => parseKnnFlags(raw)).toThrow(says);
  });
  it('leaves k to the training config unless given', () => {
    expect(parseKnnFlags({})).toEqual({ k: undefined, limit: 5000 });
    expect(parseKnnFlags({ k: '7', limit: '64' })).toEqual({ k: 7, limit: 64 });
  });
});
