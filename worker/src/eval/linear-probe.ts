/**
 * The linear classifier of the linear evaluation protocol (docs/JCL.md): one fc layer on frozen
 * backbone features, weight ~ N(0, 0.01), bias 0, softmax cross-entropy, SGD with momentum
 * (torch.optim.SGD semantics, train/sgd.ts) and a multi-step learning rate (step-lr.ts).
 * Orchestration: where the features come from (cached, or freshly augmented crops through the
 * frozen backbone) is the injected {@link ProbeTrainSource}.
 */
import * as tf from '../tf.ts';
import { epochOrder } from '../data/sampler.ts';
import type { ParamEntry } from '../model/params.ts';
import { Sgd } from '../train/sgd.ts';
import { Rng } from '../util/rng.ts';
import { stepLrAt } from './step-lr.ts';

/** Training features, one mini-batch at a time. */
export interface ProbeTrainSource {
  size: number;
  dim: number;
  numClasses: number;
  /** Features of the given dataset indices for this epoch: x [count, dim] (the probe disposes it). */
  batch(
    indices: Int32Array,
    epoch: number,
  ): { x: tf.Tensor2D; labels: Int32Array } | Promise<{ x: tf.Tensor2D; labels: Int32Array }>;
}

export interface LinearProbeOptions {
  epochs: number;
  lr: number;
  batch: number;
  momentum: number;
  weightDecay: number;
  milestones: readonly number[];
  gamma: number;
  seed: number;
  /** Called after every epoch with the mean training loss (for logs and progress). */
  onEpoch?: (e: { epoch: number; lr: number; loss: number }) => void;
}

/** A trained fc layer: weight [dim, numClasses], bias [numClasses]. */
export interface LinearHead {
  weight: tf.Variable;
  bias: tf.Variable;
  dim: number;
  numClasses: number;
}

/** fc weight ~ N(0, 0.01) and bias 0, as MoCo's main_lincls.py initialises the classifier. */
export function createLinearHead(dim: number, numClasses: number, seed: number): LinearHead {
  const rng = new Rng(seed);
  const w = new Float32Array(dim * numClasses);
  for (let i = 0; i < w.length; i++) w[i] = 0.01 * rng.normal();
  // tidy disposes the initial values; the variables keep their own reference to the data.
  return tf.tidy(() => ({
    weight: tf.variable(tf.tensor2d(w, [dim, numClasses]), true),
    bias: tf.variable(tf.zeros([numClasses]), true),
    dim,
    numClasses,
  }));
}

export function disposeLinearHead(head: LinearHead): void {
  head.weight.dispose();
  head.bias.dispose();
}

/** Trains a fresh head; the caller disposes it with {@link disposeLinearHead}. */
export async function trainLinearProbe(src: ProbeTrainSource, o: LinearProbeOptions): Promise<LinearHead> {
  if (!Number.isInteger(o.batch) || o.batch < 1)
    throw new RangeError(`batch: expected an integer >= 1, got ${o.batch}`);
  const head = createLinearHead(src.dim, src.numClasses, o.seed);
  const params: ParamEntry[] = [
    { name: 'fc.weight', variable: head.weight, trainable: true, decay: true },
    { name: 'fc.bias', variable: head.bias, trainable: true, decay: true },
  ];
  const sgd = new Sgd(o.momentum, o.weightDecay);
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const lr = stepLrAt(epoch, o);
      const order = epochOrder(src.size, epoch, o.seed);
      let lossSum = 0;
      // No drop_last: the DataLoader of main_lincls.py keeps the last partial batch.
      for (let start = 0; start < src.size; start += o.batch) {
        const idx = order.subarray(start, Math.min(start + o.batch, src.size));
        const { x, labels } = await src.batch(idx, epoch); // x: [B, D]
        const { value, grads } = tf.variableGrads(() => {
          const logits = tf.add(tf.matMul(x, head.weight), head.bias); // [B, C]
          const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), src.numClasses); // [B, C]
          return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
        }, [head.weight, head.bias]);
        x.dispose();
        const byName = new Map<string, tf.Tensor>([
          ['fc.weight', grads[head.weight.name]],
          ['fc.bias', grads[head.bias.name]],
        ]);
        sgd.apply(params, byName, lr);
        lossSum += value.dataSync()[0] * idx.length;
        value.dispose();
        for (const g of Object.values(grads)) g.dispose();
      }
      const loss = lossSum / src.size;
      if (!Number.isFinite(loss))
        throw new RangeError(
          `lr: the linear probe diverged (loss ${loss} in epoch ${epoch + 1}); lower it, got ${o.lr}`,
        );
      o.onEpoch?.({ epoch, lr, loss });
    }
  } catch (err) {
    disposeLinearHead(head);
    throw err;
  } finally {
    sgd.dispose();
  }
  return head;
}

/** Class scores (logits) of features [n, dim]: [n, numClasses], on the host, in chunks. */
export function scoreLinearHead(head: LinearHead, features: Float32Array, chunk = 512): Float32Array {
  const n = features.length / head.dim;
  if (!Number.isInteger(n))
    throw new RangeError(`features: expected a multiple of dim ${head.dim} values, got ${features.length}`);
  const out = new Float32Array(n * head.numClasses);
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const s = tf.tidy(() =>
      tf.add(
        tf.matMul(
          tf.tensor2d(features.subarray(start * head.dim, (start + count) * head.dim), [count, head.dim]),
          head.weight,
        ),
        head.bias,
      ),
    ); // [count, C]
    out.set(s.dataSync() as Float32Array, start * head.numClasses);
    s.dispose();
  }
  return out;
}
