import { readFileSync } from 'node:fs';
import * as tf from '../tf.ts';

import { beforeAll, describe, expect, it } from 'vitest';
import { checkGoldenCase, parseGoldenCases } from './golden-check.ts';
import { computeJclLoss } from './jcl-loss.ts';

const fixture = new URL('../../../test/fixtures/jcl_loss_cases.json', import.meta.url);
const cases = parseGoldenCases(JSON.parse(readFileSync(fixture, 'utf8')), 'jcl_loss_cases.json');

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('JCL loss against the float64 PyTorch golden vectors', () => {
  it.each(cases.map((c) => [c.seed, c] as const))(
    'case seed=%i matches within rtol 1e-4 / atol 1e-5',
    (_seed, c) => {
      const before = tf.memory().numTensors;
      const report = checkGoldenCase(c);
      for (const check of report.checks) {
        expect({ name: check.name, ok: check.ok, maxAbsErr: check.maxAbsErr }).toEqual({
          name: check.name,
          ok: true,
          maxAbsErr: expect.any(Number),
        });
      }
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('detects a wrong loss: a perturbed expectation fails the check', () => {
    const c = structuredClone(cases[0]);
    c.expected.loss_jcl *= 1.01;
    c.expected.grad_raw_q[3] += 1e-3;
    const report = checkGoldenCase(c);
    expect(report.ok).toBe(false);
    expect(
      report.checks
        .filter((x) => !x.ok)
        .map((x) => x.name)
        .sort(),
    ).toEqual(['grad_raw_q', 'loss_jcl']);
  });

  it('reduces to MoCo v2 InfoNCE when ratio = 0', () => {
    const c = cases[0];
    tf.tidy(() => {
      const rawQ = tf.tensor2d(c.inputs.raw_q, [c.N, c.C]);
      const keys = tf.randomNormal([c.M, c.N, c.C], 0, 1, 'float32', 7) as tf.Tensor3D;
      const queue = tf.tensor2d(c.inputs.queue, [c.C, c.K]);
      const jcl0 = computeJclLoss({ rawQ, keys, queue, tau: 0.2, ratio: 0 });
      expect(jcl0.lossJcl.dataSync()[0]).toBe(0);
      // InfoNCE with the key mean as the positive.
      const q = tf.div(rawQ, tf.norm(rawQ, 'euclidean', 1, true));
      const mu = tf.mean(keys, 0);
      const logits = tf.div(tf.concat([tf.sum(tf.mul(q, mu), 1, true), tf.matMul(q, queue)], 1), 0.2);
      const ce = tf.mean(tf.neg(tf.reshape(tf.slice(tf.logSoftmax(logits, 1), [0, 0], [c.N, 1]), [c.N])));
      expect(jcl0.loss.dataSync()[0]).toBeCloseTo(ce.dataSync()[0], 5);
    });
  });
});
