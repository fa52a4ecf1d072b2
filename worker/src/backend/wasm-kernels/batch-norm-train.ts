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
import { heapKernels, offsetOf } from './heap-kernels.ts';

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
  const k = heapKernels(wasm);
  const c = channels(x);
  const rows = rowsOf(x);
  const at = (t: TensorInfo) => offsetOf(wasm, t);
  const mean = wasm.makeOutput([c], 'float32');
  const variance = wasm.makeOutput([c], 'float32');
  const invStd = wasm.makeOutput([c], 'float32');
  const mst = wasm.makeOutput([3 * c], 'float32');
  const y = wasm.makeOutput(x.shape, 'float32');
  k.sum_rows(at(x), rows, c, at(mean), 1 / rows);
  k.centered_squares(at(x), at(mean), rows, c, at(variance), 1 / rows);
  const [m, v, s, g, b, table] = views(wasm, mean, variance, invStd, gamma, beta, mst);
  for (let i = 0; i < c; i++) s[i] = 1 / Math.sqrt(v[i] + attrs.eps);
  normalizeTable(m, v, g, b, attrs.eps, table);
  k.normalize(at(x), rows, c, at(mst), at(y));
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
  const k = heapKernels(wasm);
  const c = channels(x);
  const rows = rowsOf(x);
  const at = (t: TensorInfo) => offsetOf(wasm, t);
  const sums = wasm.makeOutput([2 * c], 'float32'); // [dbeta, dgamma]
  const tab = wasm.makeOutput([4 * c], 'float32');
  const dx = wasm.makeOutput(x.shape, 'float32');
  const dgamma = wasm.makeOutput([c], 'float32');
  const dbeta = wasm.makeOutput([c], 'float32');
  k.bn_grad_sums(at(dy), at(x), at(mean), at(invStd), rows, c, at(sums), 1);
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
  k.bn_backward(at(dy), at(x), rows, c, at(tab), at(dx));
  args.backend.disposeData(sums.dataId);
  args.backend.disposeData(tab.dataId);
  return [dx, dgamma, dbeta];
}
