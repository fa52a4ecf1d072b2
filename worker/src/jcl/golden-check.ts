/**
 * Evaluates golden JCL cases (the format of test/fixtures/jcl_loss_cases.json, computed in float64
 * PyTorch) on the active TensorFlow.js backend and reports the worst error per quantity. Used by the
 * tests and by `jcl selftest`, which users run to check a backend's numerics.
 */
import * as tf from '../tf.ts';
import { JclError } from '../util/errors.ts';
import { computeJclLoss, computeKeyCovariance, contrastAccuracy } from './jcl-loss.ts';

export interface GoldenCase {
  seed: number;
  N: number;
  C: number;
  M: number;
  K: number;
  tau: number;
  ratio: number;
  inputs: { raw_q: number[]; raw_k: number[]; queue: number[] };
  expected: {
    mu: number[];
    sigma: number[];
    logits: number[];
    loss_cls: number;
    loss_jcl: number;
    loss: number;
    contrast_acc1: number;
    grad_raw_q: number[];
  };
}

export interface QuantityCheck {
  name: string;
  maxAbsErr: number;
  /** The worst |a - e| - (atol + rtol |e|) over elements; > 0 means out of tolerance. */
  worstExcess: number;
  ok: boolean;
}

export interface CaseReport {
  seed: number;
  shape: string;
  ok: boolean;
  checks: QuantityCheck[];
}

export const DEFAULT_TOLERANCE = Object.freeze({ rtol: 1e-4, atol: 1e-5 });

/** Validates the parsed JSON of a golden file and returns its cases. */
export function parseGoldenCases(json: unknown, source: string): GoldenCase[] {
  const cases = (json as { cases?: unknown })?.cases;
  if (!Array.isArray(cases) || cases.length === 0) {
    throw new JclError(
      'invalid_data',
      `${source}: expected {"cases": [...]} with at least one case, got ${typeof cases}`,
    );
  }
  cases.forEach((c: GoldenCase, i: number) => {
    const where = `${source}: cases[${i}]`;
    for (const f of ['N', 'C', 'M', 'K', 'tau', 'ratio'] as const) {
      if (typeof c?.[f] !== 'number')
        throw new JclError('invalid_data', `${where}.${f}: expected a number, got ${JSON.stringify(c?.[f])}`);
    }
    const sizes: Record<string, number> = {
      'inputs.raw_q': c.N * c.C,
      'inputs.raw_k': c.M * c.N * c.C,
      'inputs.queue': c.C * c.K,
      'expected.mu': c.N * c.C,
      'expected.sigma': c.N * c.C * c.C,
      'expected.logits': c.N * (1 + c.K),
      'expected.grad_raw_q': c.N * c.C,
    };
    for (const [path, n] of Object.entries(sizes)) {
      const [a, b] = path.split('.');
      const arr = (c as unknown as Record<string, Record<string, unknown>>)[a]?.[b];
      if (!Array.isArray(arr) || arr.length !== n) {
        throw new JclError(
          'invalid_data',
          `${where}.${path}: expected ${n} numbers, got ${Array.isArray(arr) ? arr.length : JSON.stringify(arr)}`,
        );
      }
    }
  });
  return cases as GoldenCase[];
}

/** Runs one case through the loss and its gradient w.r.t. raw_q; all tensors are disposed. */
export function checkGoldenCase(c: GoldenCase, tol = DEFAULT_TOLERANCE): CaseReport {
  const actual = tf.tidy(() => {
    const rawQ = tf.tensor2d(c.inputs.raw_q, [c.N, c.C]);
    const rawK = tf.tensor3d(c.inputs.raw_k, [c.M, c.N, c.C]);
    const keys = tf.div(rawK, tf.maximum(tf.norm(rawK, 'euclidean', 2, true), 1e-12)) as tf.Tensor3D;
    const queue = tf.tensor2d(c.inputs.queue, [c.C, c.K]);
    const lossOf = (q: tf.Tensor) =>
      computeJclLoss({ rawQ: q as tf.Tensor2D, keys, queue, tau: c.tau, ratio: c.ratio }).loss;
    const grad = tf.grad(lossOf)(rawQ);
    const out = computeJclLoss({ rawQ, keys, queue, tau: c.tau, ratio: c.ratio });
    return {
      mu: out.mu.dataSync(),
      sigma: computeKeyCovariance(keys).dataSync(),
      logits: out.logits.dataSync(),
      loss_cls: out.lossCls.dataSync(),
      loss_jcl: out.lossJcl.dataSync(),
      loss: out.loss.dataSync(),
      contrast_acc1: [contrastAccuracy(out.logits)],
      grad_raw_q: grad.dataSync(),
    };
  });
  const checks: QuantityCheck[] = Object.entries(actual).map(([name, values]) => {
    const expected = (c.expected as unknown as Record<string, number | number[]>)[name];
    return compare(
      name,
      Array.from(values as ArrayLike<number>),
      Array.isArray(expected) ? expected : [expected],
      tol,
    );
  });
  return {
    seed: c.seed,
    shape: `N=${c.N} d=${c.C} M=${c.M} K=${c.K}`,
    ok: checks.every((x) => x.ok),
    checks,
  };
}

function compare(
  name: string,
  actual: number[],
  expected: number[],
  tol: { rtol: number; atol: number },
): QuantityCheck {
  let maxAbsErr = 0;
  let worstExcess = -Infinity;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    maxAbsErr = Math.max(maxAbsErr, err);
    worstExcess = Math.max(
      worstExcess,
      Number.isNaN(err) ? Infinity : err - (tol.atol + tol.rtol * Math.abs(expected[i])),
    );
  }
  return { name, maxAbsErr, worstExcess, ok: worstExcess <= 0 };
}
