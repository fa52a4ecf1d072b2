/**
 * Weighted k-NN classification on l2-normalised features (Wu et al. 2018, InstDisc; the MoCo/JCL
 * monitor): each test sample takes its k most cosine-similar training samples, each votes for its
 * class with weight exp(sim / T). Reports top-1 and top-5 accuracy.
 */
import * as tf from '../tf.ts';
import { yieldToEventLoop } from '../util/yield-to-event-loop.ts';

export interface KnnResult {
  top1: number;
  top5: number;
  k: number;
  temperature: number;
  trainSize: number;
  testSize: number;
}

export async function knnClassify(
  train: { features: Float32Array; labels: Int32Array },
  test: { features: Float32Array; labels: Int32Array },
  opts: { dim: number; numClasses: number; k: number; temperature: number; chunk?: number },
): Promise<KnnResult> {
  const nTrain = train.labels.length;
  const nTest = test.labels.length;
  const k = Math.min(opts.k, nTrain);
  const chunk = opts.chunk ?? 256;
  let hit1 = 0;
  let hit5 = 0;
  const bank = tf.tensor2d(train.features, [nTrain, opts.dim]); // [Nb, D]
  const bankLabels = tf.tensor1d(train.labels, 'int32');
  try {
    for (let start = 0; start < nTest; start += chunk) {
      const count = Math.min(chunk, nTest - start);
      const ranked = tf.tidy(() => {
        const q = tf.tensor2d(test.features.subarray(start * opts.dim, (start + count) * opts.dim), [
          count,
          opts.dim,
        ]);
        const sim = tf.matMul(q, bank, false, true); // [count, Nb]
        const { values, indices } = tf.topk(sim, k); // [count, k]
        const neighbourLabels = tf.gather(bankLabels, indices); // [count, k]
        const weights = tf.exp(tf.div(values, opts.temperature)); // [count, k]
        const votes = tf.sum(
          tf.mul(tf.oneHot(neighbourLabels, opts.numClasses), tf.expandDims(weights, 2)),
          1,
        ); // [count, classes]
        return tf.topk(votes, Math.min(5, opts.numClasses)).indices; // [count, <=5]
      });
      const r = ranked.arraySync() as number[][];
      await yieldToEventLoop();
      ranked.dispose();
      r.forEach((row, i) => {
        const y = test.labels[start + i];
        if (row[0] === y) hit1++;
        if (row.includes(y)) hit5++;
      });
    }
  } finally {
    bank.dispose();
    bankLabels.dispose();
  }
  return {
    top1: hit1 / nTest,
    top5: hit5 / nTest,
    k,
    temperature: opts.temperature,
    trainSize: nTrain,
    testSize: nTest,
  };
}
