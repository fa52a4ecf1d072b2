/**
 * One JCL training step on one worker (shared/docs/JCL.md, "One training step"), split as
 * momentum update -> keys (shuffle-BN) -> variableGrads -> all-reduce -> SGD -> enqueue -> dispose.
 */
import * as tf from '../tf.ts';
import type { Collective } from '../distributed/collective.ts';
import type { GradientDtype } from '../distributed/bf16.ts';
import { computeJclLoss, contrastAccuracy, l2Normalize } from '../jcl/jcl-loss.ts';
import type { Encoder } from '../model/encoder.ts';
import { applyBnUpdates, type BnUpdate } from '../model/layers.ts';
import { Rng } from '../util/rng.ts';
import type { KeyQueue } from './key-queue.ts';
import type { Sgd } from './sgd.ts';
import { gatherRows, invertPermutation, makePermutation } from './shuffle-plan.ts';
import { axpby } from './fused-update.ts';

export interface StepBatch {
  /** Query crops: [N, S, S, C] as a flat NHWC array. */
  query: Float32Array;
  /** Key crops, crop-major (crop j of image i at row j*N + i): [M*N, S, S, C]. */
  keys: Float32Array;
  n: number;
  m: number;
  size: number;
  channels: number;
}

export interface StepHyper {
  lr: number;
  ratio: number;
  tau: number;
  keyMomentum: number;
}

export interface StepMetrics {
  loss: number;
  lossCls: number;
  lossJcl: number;
  contrastAcc: number;
}

export interface StepState {
  query: Encoder;
  key: Encoder;
  queue: KeyQueue;
  sgd: Sgd;
  collective: Collective;
  /** Element type of gradients in the all-reduce (config dist.gradientDtype); default float32. */
  gradientDtype?: GradientDtype;
  /** Rank 0's generator for the shuffle-BN permutation (part of the checkpointed RNG state). */
  shuffleRng: Rng;
}

/** theta_k <- m theta_k + (1 - m) theta_q over all trainable weights, head included. */
export function momentumUpdate(query: Encoder, key: Encoder, m: number): void {
  tf.tidy(() => {
    const q = query.params.entries;
    key.params.entries.forEach((k, i) => {
      if (!k.trainable) return;
      k.variable.assign(axpby(k.variable, q[i].variable, m, 1 - m));
    });
  });
}

/** Runs the step and returns its metrics; no tensor outlives it. */
export async function runTrainStep(st: StepState, batch: StepBatch, hp: StepHyper): Promise<StepMetrics> {
  const { n, m, size, channels } = batch;
  const pixels = size * size * channels;
  // 1. Momentum update before encoding the keys (MoCo's order).
  momentumUpdate(st.query, st.key, hp.keyMomentum);

  // 2. Keys without gradients, shuffle-BN across all workers.
  const keyEmb = await encodeKeysShuffled(st, batch.keys, m * n, pixels, size, channels); // [M*N*d] flat
  const d = st.key.embedDim;
  const keys = tf.tensor3d(keyEmb, [m, n, d]); // keys: [M, N, d]

  // 3. Loss and gradients of the query encoder.
  const qBn: BnUpdate[] = [];
  const xq = tf.tensor4d(batch.query, [n, size, size, channels]);
  const trainable = st.query.params.trainable();
  let metricsTensors: {
    lossCls: tf.Scalar;
    lossJcl: tf.Scalar;
    logits: tf.Tensor2D;
    mu: tf.Tensor2D;
  } | null = null;
  const { value, grads } = tf.variableGrads(
    () => {
      const rawQ = st.query.embed(xq, { training: true, bnUpdates: qBn }); // [N, d]
      const out = computeJclLoss({ rawQ, keys, queue: st.queue.tensor, tau: hp.tau, ratio: hp.ratio });
      metricsTensors = {
        lossCls: tf.keep(out.lossCls),
        lossJcl: tf.keep(out.lossJcl),
        logits: tf.keep(out.logits),
        mu: tf.keep(out.mu),
      };
      return out.loss;
    },
    trainable.map((p) => p.variable),
  );
  const mt = metricsTensors!;
  const gradByName = new Map<string, tf.Tensor>();
  for (const p of trainable) gradByName.set(p.name, grads[p.variable.name]);

  // 4. Average gradients over workers.
  if (st.collective.worldSize > 1)
    await allReduceGrads(
      st.collective,
      trainable.map((p) => p.name),
      gradByName,
      st.gradientDtype ?? 'float32',
    );

  // 5. SGD on the query encoder; its BN running statistics move with the batch statistics.
  st.sgd.apply(trainable, gradByName, hp.lr);
  applyBnUpdates(qBn);

  // 6. Enqueue the key means of the whole global batch.
  const localMu = (await mt.mu.data()) as Float32Array; // [N_local * d]
  const globalMu = await st.collective.allGather(localMu); // [N_global * d]
  const means = tf.tensor2d(globalMu, [globalMu.length / d, d]); // [N_global, d]
  st.queue.enqueue(means); // not inside tidy: the queue keeps the new tensor
  means.dispose();

  const metrics: StepMetrics = {
    loss: (await value.data())[0],
    lossCls: (await mt.lossCls.data())[0],
    lossJcl: (await mt.lossJcl.data())[0],
    contrastAcc: contrastAccuracy(mt.logits),
  };
  tf.dispose([
    value,
    keys,
    xq,
    mt.lossCls,
    mt.lossJcl,
    mt.logits,
    mt.mu,
    ...Object.values(grads),
    ...gradByName.values(),
  ]);
  return metrics;
}

/**
 * Shuffle-BN: every rank contributes its M*N key crops, rank 0 broadcasts a permutation of the global
 * batch, each rank encodes its slice (BN statistics then mix images of all ranks), and the encoded
 * keys are gathered and un-permuted. With one worker the permutation is the identity in effect (BN
 * statistics of a full batch do not depend on order) and is skipped.
 */
async function encodeKeysShuffled(
  st: StepState,
  keysLocal: Float32Array,
  rows: number,
  pixels: number,
  size: number,
  channels: number,
): Promise<Float32Array> {
  const d = st.key.embedDim;
  const encode = (x: Float32Array, count: number): Float32Array => {
    const bn: BnUpdate[] = [];
    const out = tf.tidy(() => {
      const xk = tf.tensor4d(x, [count, size, size, channels]);
      return l2Normalize(st.key.embed(xk, { training: true, bnUpdates: bn })); // [count, d]
    });
    applyBnUpdates(bn);
    const data = out.dataSync() as Float32Array;
    out.dispose();
    return data;
  };
  const { collective } = st;
  if (collective.worldSize === 1) return encode(keysLocal, rows);

  const world = collective.worldSize;
  const all = await collective.allGather(keysLocal); // [world * rows * pixels]
  const total = world * rows;
  const permBytes = await collective.broadcast(
    collective.rank === 0 ? new Uint8Array(makePermutation(total, st.shuffleRng).buffer) : null,
    0,
  );
  const perm = new Int32Array(
    permBytes.buffer.slice(permBytes.byteOffset, permBytes.byteOffset + permBytes.byteLength),
  );
  const mine = gatherRows(all, pixels, perm, collective.rank * rows, rows);
  const encoded = await collective.allGather(encode(mine, rows)); // permuted order: [total * d]
  // Row i of `encoded` is global key perm[i]; this rank's keys are global rows rank*rows .. +rows.
  const inv = invertPermutation(perm);
  const ownRows = new Int32Array(rows);
  for (let i = 0; i < rows; i++) ownRows[i] = inv[collective.rank * rows + i];
  return gatherRows(encoded, d, ownRows, 0, rows);
}

/** Gradients travel as one flat buffer per parameter, in the same (parameter) order on every rank. */
async function allReduceGrads(
  collective: Collective,
  names: string[],
  grads: Map<string, tf.Tensor>,
  dtype: GradientDtype,
): Promise<void> {
  const host = await Promise.all(names.map(async (n) => (await grads.get(n)!.data()) as Float32Array));
  await collective.allReduceMean(host, { dtype });
  names.forEach((n, i) => {
    const old = grads.get(n)!;
    grads.set(n, tf.tensor(host[i], old.shape, 'float32'));
    old.dispose();
  });
}
