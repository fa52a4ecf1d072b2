/**
 * Training-mode batch norm for the wasm backend in four passes over the activations (heap-kernels.ts):
 * forward = column means, centred squares (two-pass variance, float64 sums) and the normalisation;
 * backward = the per-channel sums of dy and dy * xhat, then dx through the batch statistics. The tf-ops
 * formulation (tf.moments + tf.batchNorm and their gradients) takes ~20 passes per layer (Sub, Square,
 * Mean, Tile, Multiply, Sum, ...). worker/src/model/fused-batch-norm.ts calls these kernels through a
 * custom gradient when the active backend has them.
 */
import { util, type KernelBackend, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { normalizeTable } from './batch-norm.ts';
import { splitRange } from './heap-kernel-pool.ts';
import { heapKernelPool, offsetOf } from './heap-kernels.ts';

export const BN_TRAIN_KERNEL = 'JclBatchNormTrain';
export const BN_GRAD_KERNEL = 'JclBatchNormGrad';

const channels = (x: TensorInfo) => x.shape[x.shape.length - 1];
const rowsOf = (x: TensorInfo) => util.sizeFromShape(x.shape) / channels(x);

/** Float32 views of `infos`, taken together after every allocation (allocating may move the heap). */
const views = (wasm: BackendWasm, ...infos: TensorInfo[]) =>
  infos.map((t) => wasm.typedArrayFromHeap(t) as Float32Array);

/**
 * [y, mean, variance, invStd] of x: [..., C] with per-channel gamma and beta (C a multiple of 4):
 * mean and biased variance over every axis but the last, invStd = 1 / sqrt(variance + eps),
 * y = (x - mean) * gamma * invStd + beta.
 */
export function batchNormTrainKernel(args: {
  inputs: { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
  backend: KernelBackend;
  attrs: { eps: number };
}): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { x, gamma, beta } = inputs;
  const wasm = backend as unknown as BackendWasm;
  const pool = heapKernelPool(wasm);
  const c = channels(x);
  const rows = rowsOf(x);
  const at = (t: TensorInfo) => offsetOf(wasm, t);
  const mean = wasm.makeOutput([c], 'float32');
  const variance = wasm.makeOutput([c], 'float32');
  const invStd = wasm.makeOutput([c], 'float32');
  const mst = wasm.makeOutput([3 * c], 'float32');
  const y = wasm.makeOutput(x.shape, 'float32');
  // Column sums split by channels (each thread sums whole columns, so the results do not depend on the
  // thread count), row maps by rows.
  const columns = splitRange(c, pool.threads, 16);
  const rowParts = splitRange(rows, pool.threads);
  pool.run(columns.map(([c0, n]) => [['sum_rows', at(x) + 4 * c0, rows, n, at(mean) + 4 * c0, 1 / rows, c]]));
  pool.run(
    columns.map(([c0, n]) => [
      ['centered_squares', at(x) + 4 * c0, at(mean) + 4 * c0, rows, n, at(variance) + 4 * c0, 1 / rows, c],
    ]),
  );
  const [m, v, s, g, b, table] = views(wasm, mean, variance, invStd, gamma, beta, mst);
  for (let i = 0; i < c; i++) s[i] = 1 / Math.sqrt(v[i] + attrs.eps);
  normalizeTable(m, v, g, b, attrs.eps, table);
  pool.run(rowParts.map(([r0, n]) => [['normalize', at(x) + 4 * r0 * c, n, c, at(mst), at(y) + 4 * r0 * c]]));
  backend.disposeData(mst.dataId);
  return [y, mean, variance, invStd];
}

/**
 * [dx, dgamma, dbeta] for dy, with x, mean, invStd from the forward pass and gamma:
 * dbeta = sum dy, dgamma = sum dy * xhat, dx = gamma invStd (dy - dbeta / N - xhat dgamma / N).
 */
export function batchNormGradKernel(args: {
  inputs: { dy: TensorInfo; x: TensorInfo; mean: TensorInfo; invStd: TensorInfo; gamma: TensorInfo };
  backend: KernelBackend;
}): TensorInfo[] {
  const { dy, x, mean, invStd, gamma } = args.inputs;
  const wasm = args.backend as unknown as BackendWasm;
  const pool = heapKernelPool(wasm);
  const c = channels(x);
  const rows = rowsOf(x);
  const at = (t: TensorInfo) => offsetOf(wasm, t);
  const sums = wasm.makeOutput([2 * c], 'float32'); // [dbeta, dgamma]
  const tab = wasm.makeOutput([4 * c], 'float32');
  const dx = wasm.makeOutput(x.shape, 'float32');
  const dgamma = wasm.makeOutput([c], 'float32');
  const dbeta = wasm.makeOutput([c], 'float32');
  pool.run(
    splitRange(c, pool.threads, 16).map(([c0, n]) => [
      [
        'bn_grad_sums',
        at(dy) + 4 * c0,
        at(x) + 4 * c0,
        at(mean) + 4 * c0,
        at(invStd) + 4 * c0,
        rows,
        n,
        at(sums) + 4 * c0,
        1,
        c,
      ],
    ]),
  );
  const [sm, m, inv, g, t, dg, db] = views(wasm, sums, mean, invStd, gamma, tab, dgamma, dbeta);
  for (let i = 0; i < c; i++) {
    const a = g[i] * inv[i];
    db[i] = sm[i];
    dg[i] = sm[c + i];
    t[i] = m[i];
    t[c + i] = a;
    t[2 * c + i] = (-a * inv[i] * sm[c + i]) / rows;
    t[3 * c + i] = (-a * sm[i]) / rows;
  }
  pool.run(
    splitRange(rows, pool.threads).map(([r0, n]) => [
      ['bn_backward', at(dy) + 4 * r0 * c, at(x) + 4 * r0 * c, n, c, at(tab), at(dx) + 4 * r0 * c],
    ]),
  );
  args.backend.disposeData(sums.dataId);
  args.backend.disposeData(tab.dataId);
  return [dx, dgamma, dbeta];
}
