import { describe, expect, it } from 'vitest';
import { parseMilestones, stepLrAt } from './step-lr.ts';

describe('stepLrAt', () => {
  it('is the paper schedule: 30 until epoch 60, 3 until 80, 0.3 after', () => {
    const o = { lr: 30, milestones: [60, 80], gamma: 0.1 };
    const at = [0, 59, 60, 79, 80, 99].map((e) => stepLrAt(e, o));
    expect(at[0]).toBe(30);
    expect(at[1]).toBe(30);
    expect(at[2]).toBeCloseTo(3, 12);
    expect(at[3]).toBeCloseTo(3, 12);
    expect(at[4]).toBeCloseTo(0.3, 12);
    expect(at[5]).toBeCloseTo(0.3, 12);
  });

  it('counts a repeated milestone twice and is constant without milestones', () => {
    expect(stepLrAt(5, { lr: 1, milestones: [2, 2], gamma: 0.5 })).toBe(0.25);
    expect(stepLrAt(1000, { lr: 0.7, milestones: [], gamma: 0.1 })).toBe(0.7);
  });
});

describe('parseMilestones', () => {
  it('parses and sorts a list, and takes an empty string as none', () => {
    expect(parseMilestones('80, 60')).toEqual([60, 80]);
    expect(parseMilestones('')).toEqual([]);
  });

  it('names the flag and the value on bad input', () => {
    expect(() => parseMilestones('60,x')).toThrow(
      '--milestones: expected comma-separated non-negative integers like 60,80, got "60,x"',
    );
    expect(() => parseMilestones('-1')).toThrow(/got "-1"/);
  });
});
