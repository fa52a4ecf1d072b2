import { describe, expect, it } from 'vitest';
import { parseFeatureFlags, parseLinearFlags } from './eval-options.ts';
import { EVAL_PARAMS } from './eval-params.ts';

/** The defaults the table documents, keyed as the parsed options name them. */
const documented = (kind: 'linear' | 'features') =>
  Object.fromEntries(Object.entries(EVAL_PARAMS[kind]).map(([name, p]) => [name, p.default]));

describe('EVAL_PARAMS (the CRD params schema and the operator flags come from it)', () => {
  it('documents the defaults jcl eval linear applies', () => {
    const parsed = parseLinearFlags({});
    const { cropScaleMin, cropScaleMax, flipProb, ...rest } = parsed;
    expect({ ...rest, cropMin: cropScaleMin, cropMax: cropScaleMax, flip: flipProb }).toEqual(
      documented('linear'),
    );
  });

  it('documents the defaults jcl eval features applies', () => {
    expect({ ...parseFeatureFlags({}) }).toEqual(documented('features'));
  });

  it('names flags jcl eval linear accepts: each one, given a value, changes the parsed options', () => {
    const values: Record<string, string | boolean> = {
      epochs: '7',
      lr: '3',
      batch: '8',
      momentum: '0.5',
      'weight-decay': '0.1',
      milestones: '1,2',
      gamma: '0.5',
      'crop-min': '0.3',
      'crop-max': '0.9',
      flip: '0.1',
      'cache-features': true,
      limit: '9',
      seed: '4',
    };
    const defaults = parseLinearFlags({});
    for (const p of Object.values(EVAL_PARAMS.linear)) {
      expect(values[p.flag], p.flag).toBeDefined();
      expect(parseLinearFlags({ [p.flag]: values[p.flag] }), p.flag).not.toEqual(defaults);
    }
  });
});
