/**
 * Functional layers over a ParamStore: they create their parameters at build time and return a
 * forward function. Tensors are NHWC; kernels HWIO [kh, kw, cin, cout].
 */
import * as tf from '../tf.ts';
import { batchNormTrainFused, fusedBatchNormApplies } from './fused-batch-norm.ts';
import { Rng } from '../util/rng.ts';
import { planPadding, spatialPadding } from './padding.ts';
import { ParamStore, filled, kaimingNormal, uniformFanIn } from './params.ts';

/** What a forward pass needs to know, and where BN puts its batch statistics in training mode. */
export interface ForwardContext {
  training: boolean;
  /** Filled in training mode: the caller applies them to the running statistics after the step. */
  bnUpdates?: BnUpdate[];
}

export interface BnUpdate {
  runningMean: tf.Variable;
  runningVar: tf.Variable;
  /** Kept tensors: [C]; the caller disposes them. */
  batchMean: tf.Tensor1D;
  batchVar: tf.Tensor1D;
  count: number;
}

export type Layer = (x: tf.Tensor4D, ctx: ForwardContext) => tf.Tensor4D;
/** A layer over [N, C] or [N, H, W, C] tensors (batch norm serves both). */
export type AnyRankLayer = <T extends tf.Tensor2D | tf.Tensor4D>(x: T, ctx: ForwardContext) => T;

/** Conv without bias (a BN always follows in a ResNet), PyTorch-style symmetric padding. */
export function conv2d(
  ps: ParamStore,
  rng: Rng,
  name: string,
  cin: number,
  cout: number,
  k: number,
  stride: number,
): Layer {
  const w = ps.add(`${name}.weight`, kaimingNormal(rng, [k, k, cin, cout], k * k * cout), [k, k, cin, cout]);
  const p = Math.floor(k / 2);
  const pad = spatialPadding(p);
  return (x) => {
    // x: [N, H, W, cin] -> [N, H', W', cout]; the native backend takes no explicit padding (padding.ts).
    const plan = planPadding(tf.getBackend(), [x.shape[1], x.shape[2]], k, stride, p);
    if (plan === 'pad-then-valid') return tf.conv2d(tf.pad(x, pad), w as tf.Tensor4D, stride, 'valid');
    return tf.conv2d(x, w as tf.Tensor4D, stride, plan === 'explicit' ? pad : plan);
  };
}

/**
 * Max-pool with PyTorch's symmetric padding (padded cells never win). On the native backend the pad is
 * -Infinity then 'valid', unless TensorFlow's 'same' pads the same cells (padding.ts).
 */
export function maxPool2d(x: tf.Tensor4D, k: number, stride: number, p: number): tf.Tensor4D {
  const plan = planPadding(tf.getBackend(), [x.shape[1], x.shape[2]], k, stride, p);
  if (plan === 'pad-then-valid')
    return tf.maxPool(tf.pad(x, spatialPadding(p), -Infinity), k, stride, 'valid');
  return tf.maxPool(x, k, stride, plan === 'explicit' ? p : plan);
}

/** BatchNorm with PyTorch semantics: momentum 0.1, eps 1e-5, unbiased variance in the running estimate. */
export function batchNorm(
  ps: ParamStore,
  name: string,
  c: number,
  opts: { zeroInit?: boolean } = {},
): AnyRankLayer {
  const gamma = ps.add(`${name}.weight`, filled(c, opts.zeroInit ? 0 : 1), [c]);
  const beta = ps.add(`${name}.bias`, filled(c, 0), [c]);
  const runningMean = ps.add(`${name}.running_mean`, filled(c, 0), [c], { trainable: false });
  const runningVar = ps.add(`${name}.running_var`, filled(c, 1), [c], { trainable: false });
  return <T extends tf.Tensor2D | tf.Tensor4D>(x: T, ctx: ForwardContext): T => {
    if (!ctx.training) return tf.batchNorm(x, runningMean, runningVar, beta, gamma, 1e-5) as T;
    // One op with its own gradient where the backend has the kernels (fused-batch-norm.ts), else tf ops;
    // both return the batch statistics kept out of tidy scopes.
    const { y, mean, variance } = fusedBatchNormApplies(x)
      ? batchNormTrainFused(x, gamma, beta, 1e-5)
      : batchNormTrainOps(x, gamma, beta);
    if (ctx.bnUpdates)
      ctx.bnUpdates.push({ runningMean, runningVar, batchMean: mean, batchVar: variance, count: x.size / c });
    else tf.dispose([mean, variance]);
    return y;
  };
}

/** Training-mode batch norm from tf.moments + tf.batchNorm; the statistics are kept (the caller disposes). */
function batchNormTrainOps<T extends tf.Tensor>(
  x: T,
  gamma: tf.Tensor,
  beta: tf.Tensor,
): { y: T; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const axes = x.rank === 4 ? [0, 1, 2] : [0]; // every axis but channels
  const { mean, variance } = tf.moments(x, axes); // [C] each
  const y = tf.batchNorm(x, mean, variance, beta, gamma, 1e-5) as T;
  return { y, mean: tf.keep(mean as tf.Tensor1D), variance: tf.keep(variance as tf.Tensor1D) };
}

/** Applies and disposes collected BN batch statistics: running = 0.9 running + 0.1 batch. */
export function applyBnUpdates(updates: BnUpdate[], momentum = 0.1): void {
  tf.tidy(() => {
    for (const u of updates) {
      const unbiased = u.count > 1 ? u.count / (u.count - 1) : 1;
      u.runningMean.assign(tf.add(tf.mul(u.runningMean, 1 - momentum), tf.mul(u.batchMean, momentum)));
      u.runningVar.assign(
        tf.add(tf.mul(u.runningVar, 1 - momentum), tf.mul(u.batchVar, momentum * unbiased)),
      );
    }
  });
  for (const u of updates) {
    u.batchMean.dispose();
    u.batchVar.dispose();
  }
  updates.length = 0;
}

/** Fully connected layer [in] -> [out] with bias, PyTorch default init. */
export function dense(
  ps: ParamStore,
  rng: Rng,
  name: string,
  din: number,
  dout: number,
): (x: tf.Tensor2D) => tf.Tensor2D {
  const w = ps.add(`${name}.weight`, uniformFanIn(rng, din * dout, din), [din, dout]);
  const b = ps.add(`${name}.bias`, uniformFanIn(rng, dout, din), [dout]);
  return (x) => tf.add(tf.matMul(x, w), b);
}
