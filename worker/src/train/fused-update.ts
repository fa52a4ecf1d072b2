/**
 * Parameter updates in one pass where the backend has the kernels (the wasm path registers them,
 * worker/src/backend/wasm-kernels/fused-updates.ts), else as plain tf ops. Both give the same float32
 * results; the fused kernels read and write the weights once instead of once per op.
 */
import * as tf from '../tf.ts';
import { AXPBY_KERNEL, SGD_MOMENTUM_KERNEL } from '../backend/wasm-kernels/fused-updates.ts';

const hasKernel = (name: string) => tf.getKernel(name, tf.getBackend()) !== undefined;

/**
 * One SGD step with momentum (PyTorch semantics): g' = g + w * wd (when wd > 0); buf' = buf * momentum + g';
 * w' = w - buf' * lr. Returns [w', buf'] as new tensors.
 */
export function sgdMomentumStep(
  w: tf.Tensor,
  g: tf.Tensor,
  buf: tf.Tensor,
  lr: number,
  momentum: number,
  weightDecay: number,
): [tf.Tensor, tf.Tensor] {
  if (hasKernel(SGD_MOMENTUM_KERNEL) && w.dtype === 'float32' && g.dtype === 'float32') {
    const [wOut, bufOut] = tf
      .engine()
      .runKernel(SGD_MOMENTUM_KERNEL, { w, g, buf }, { lr, momentum, weightDecay }) as tf.Tensor[];
    return [wOut, bufOut];
  }
  return tf.tidy(() => {
    const g1 = weightDecay !== 0 ? tf.add(g, tf.mul(w, weightDecay)) : g;
    const b = tf.add(tf.mul(buf, momentum), g1);
    return [tf.sub(w, tf.mul(b, lr)), b];
  });
}

/** a * alpha + b * beta (the key encoder's momentum update with alpha = m, beta = 1 - m). */
export function axpby(a: tf.Tensor, b: tf.Tensor, alpha: number, beta: number): tf.Tensor {
  if (hasKernel(AXPBY_KERNEL) && a.dtype === 'float32' && b.dtype === 'float32')
    return tf.engine().runKernel(AXPBY_KERNEL, { a, b }, { alpha, beta }) as tf.Tensor;
  return tf.tidy(() => tf.add(tf.mul(a, alpha), tf.mul(b, beta)));
}
