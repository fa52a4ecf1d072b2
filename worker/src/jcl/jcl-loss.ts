/**
 * The JCL objective (Cai et al., NeurIPS 2020, Eq. 8; restated in shared/docs/JCL.md, "One training step").
 * Pure tensor maths: no variables, no I/O. With ratio = 0 (or M = 1) it is exactly MoCo v2's InfoNCE.
 */
import * as tf from '../tf.ts';

export interface JclLossInputs {
  /** Query embeddings before l2 normalisation: [N, d]. Gradients flow through these. */
  rawQ: tf.Tensor2D;
  /** Unit-norm key embeddings of the M positive crops, crop-major: [M, N, d]. Treated as constants. */
  keys: tf.Tensor3D;
  /** The queue of negatives, columns are unit keys: [d, K]. Treated as constant. */
  queue: tf.Tensor2D;
  /** Temperature tau > 0. */
  tau: number;
  /** lambda_t: the (possibly ramped) covariance weight; 0 gives MoCo v2. */
  ratio: number;
}

export interface JclLossOutputs {
  /** Total loss L = L_cls + L_jcl: scalar. */
  loss: tf.Scalar;
  lossCls: tf.Scalar;
  lossJcl: tf.Scalar;
  /** [N, 1+K], column 0 positive, already divided by tau. */
  logits: tf.Tensor2D;
  /** Key means mu: [N, d] (not re-normalised); these are what gets enqueued. */
  mu: tf.Tensor2D;
}

/** Computes the loss terms. Call inside tf.tidy / variableGrads; returns tensors the caller owns. */
export function computeJclLoss({ rawQ, keys, queue, tau, ratio }: JclLossInputs): JclLossOutputs {
  const [m, n] = keys.shape;
  const q = l2Normalize(rawQ); // q: [N, d]
  // Keys and queue are stop-gradient by construction: the momentum encoder runs outside the gradient
  // tape and its variables are never passed to variableGrads, so no gradient reaches them.
  const k = keys; // k: [M, N, d]
  const mu = tf.mean(k, 0) as tf.Tensor2D; // mu: [N, d]
  const diff = tf.sub(k, mu); // diff: [M, N, d]
  // q^T Sigma q = (1/M) sum_j ((k_j - mu) . q)^2, without materialising Sigma [N, d, d].
  const proj = tf.sum(tf.mul(diff, q), 2); // proj: [M, N]
  const qSigmaQ = tf.div(tf.sum(tf.square(proj), 0), m) as tf.Tensor1D; // [N]
  const s = ratio / tau; // S = Sigma * lambda_t / tau
  const muDotQ = tf.sum(tf.mul(q, mu), 1); // [N]
  const lPos = tf.add(muDotQ, tf.mul(qSigmaQ, 0.5 * s)); // l_pos = q.(mu + 0.5 S q): [N]
  const lNeg = tf.matMul(q, queue); // l_neg: [N, K]
  const logits = tf.div(tf.concat([tf.reshape(lPos, [n, 1]), lNeg], 1), tau) as tf.Tensor2D; // [N, 1+K]
  // Cross-entropy against label 0: logsumexp(logits) - logits[:, 0].
  const lossCls = tf.mean(
    tf.sub(rowLogSumExp(logits), tf.reshape(tf.slice(logits, [0, 0], [n, 1]), [n])),
  ) as tf.Scalar;
  // L_jcl = mean_n 0.5 q^T S q / tau: S already carries 1/tau, hence lambda_t / (2 tau^2) overall.
  const lossJcl = tf.div(tf.mean(tf.mul(qSigmaQ, 0.5 * s)), tau) as tf.Scalar;
  const loss = tf.add(lossCls, lossJcl) as tf.Scalar;
  return { loss, lossCls, lossJcl, logits, mu };
}

/**
 * logsumexp over the rows of x: [N, C] -> [N], with the gradient dy * softmax(x) written out. Autodiff of
 * tf.logSumExp also differentiates its max-subtraction, whose gradient is zero in exact arithmetic but costs
 * a broadcast Equal and its mask over the whole [N, 1+K] logits (12.5 ms of a resnet18-cifar step on wasm).
 */
const rowLogSumExp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const value = tf.logSumExp(x, 1);
  save([x, value]);
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, lse] = saved;
      const [rows] = xs.shape;
      return tf.mul(tf.exp(tf.sub(xs, tf.reshape(lse, [rows, 1]))), tf.reshape(dy, [rows, 1]));
    },
  };
}) as (x: tf.Tensor2D) => tf.Tensor1D;

/** Row-wise l2 normalisation with the same epsilon as torch.nn.functional.normalize (1e-12). */
export function l2Normalize<T extends tf.Tensor>(x: T, axis = -1): T {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.sum(tf.square(x), axis, true));
    return tf.div(x, tf.maximum(norm, 1e-12)) as T;
  });
}

/** Sigma = (1/M) sum_j (k_j - mu)(k_j - mu)^T: [N, d, d]. Only for tests, selftest and feature analysis. */
export function computeKeyCovariance(keys: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const [m, n, d] = keys.shape;
    const diff = tf.transpose(tf.sub(keys, tf.mean(keys, 0)), [1, 0, 2]); // [N, M, d]
    const outer = tf.matMul(diff, diff, true, false); // [N, d, d]
    return tf.reshape(tf.div(outer, m), [n, d, d]) as tf.Tensor3D;
  });
}

/** Fraction of queries whose positive logit is the largest (MoCo's "acc@1" of the contrast task). */
export function contrastAccuracy(logits: tf.Tensor2D): number {
  return tf.tidy(() => {
    const top = tf.argMax(logits, 1);
    return tf.mean(tf.cast(tf.equal(top, 0), 'float32')).dataSync()[0];
  });
}
