/**
 * Training-mode batch norm as one op with its own gradient where the backend has the kernels (the wasm
 * path: worker/src/backend/wasm-kernels/batch-norm-train.ts, ~4 passes over the activations instead of
 * ~20 for tf.moments + tf.batchNorm and their gradients). layers.ts falls back to the tf ops elsewhere.
 * Same mathematics (biased batch variance, gradient through the batch statistics); float rounding differs.
 */
import * as tf from '../tf.ts';
import { BN_GRAD_KERNEL, BN_TRAIN_KERNEL } from '../backend/wasm-kernels/batch-norm-train.ts';

/** True when {@link batchNormTrainFused} can run x: float32 [..., C] with C a multiple of 4. */
export function fusedBatchNormApplies(x: tf.Tensor): boolean {
  const c = x.shape[x.rank - 1];
  return (
    x.dtype === 'float32' &&
    c % 4 === 0 &&
    tf.getKernel(BN_TRAIN_KERNEL, tf.getBackend()) !== undefined &&
    tf.getKernel(BN_GRAD_KERNEL, tf.getBackend()) !== undefined
  );
}

/**
 * y = (x - mean) / sqrt(variance + eps) * gamma + beta with the batch statistics over every axis but the
 * last; returns y (differentiable in x, gamma and beta) and the statistics (for the running estimates),
 * which are kept out of every tidy scope: the caller disposes them.
 */
export function batchNormTrainFused<T extends tf.Tensor>(
  x: T,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps: number,
): { y: T; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  let stats: tf.Tensor[] = [];
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xIn, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, mean, variance, invStd] = tf
      .engine()
      .runKernel(BN_TRAIN_KERNEL, { x: xIn, gamma: g, beta: b }, { eps }) as tf.Tensor[];
    save([xIn, mean, invStd, g]);
    stats = [tf.keep(mean), tf.keep(variance)]; // the op's scope disposes what it does not return
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sMean, sInv, sGamma] = saved;
        return tf
          .engine()
          .runKernel(
            BN_GRAD_KERNEL,
            { dy, x: sx, mean: sMean, invStd: sInv, gamma: sGamma },
            {},
          ) as tf.Tensor[];
      },
    };
  });
  const y = op(x, gamma, beta) as T;
  return { y, mean: stats[0] as tf.Tensor1D, variance: stats[1] as tf.Tensor1D };
}
