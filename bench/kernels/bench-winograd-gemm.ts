/**
 * The Winograd layers' 36 matrix products, our kernels (heap-kernels `matmul`, `outer_sums`) against the
 * wasm backend's BatchMatMul (XNNPACK), on the resnet18-cifar layer shapes:
 *
 *   npx tsx bench/kernels/bench-winograd-gemm.ts [--threads 1] [--reps 3]
 *
 * Every XNNPACK call gets a fresh copy of its weight operand (as in training, where the transformed filter
 * or dy is new on every call; the copy's own time is subtracted). Prints GMAC/s per shape and checks that
 * both give the same numbers (max |difference| relative to max |value|).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { loadWasmBackend } from '../../worker/src/backend/load-wasm-backend.ts';
import { matMulInfo } from '../../worker/src/backend/wasm-kernels/call-wasm-kernel.ts';
import { heapKernels, offsetOf } from '../../worker/src/backend/wasm-kernels/heap-kernels.ts';
import { timeRun } from './time-kernel.ts';

const { values } = parseArgs({
  options: { threads: { type: 'string', default: '1' }, reps: { type: 'string', default: '3' } },
});
await loadWasmBackend({ threads: Number(values.threads) });
const wasm = tf.engine().backend as unknown as BackendWasm;
const k = heapKernels(wasm);
const info = (t: tf.Tensor) => ({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
const at = (t: tf.Tensor) => offsetOf(wasm, info(t));

const timeMs = (f: () => void) => timeRun(f, Number(values.reps)).ms;

/** 36 products z = op(a) b: XNNPACK on (aXnn, fresh b), ours on (aOwn, b); both [m, n] outputs. */
function compare(
  name: string,
  aXnn: tf.Tensor[],
  aOwn: tf.Tensor[],
  b: tf.Tensor[],
  own: (a: tf.Tensor, b: tf.Tensor, z: number) => void,
  macs: number,
) {
  const m = aXnn[0].shape[0] as number;
  const n = b[0].shape[1] as number;
  const copy = timeMs(() => b.forEach((x) => tf.add(x, 0).dispose()));
  const xnnRun = () =>
    aXnn.map((a, p) => {
      const fresh = tf.add(b[p], 0);
      const out = matMulInfo(wasm as never, info(a) as never, info(fresh) as never);
      fresh.dispose();
      return out;
    });
  const ownRun = () =>
    aOwn.map((a, p) => {
      const out = wasm.makeOutput([m, n], 'float32');
      own(a, b[p], offsetOf(wasm, out));
      return out;
    });
  const release = (outs: Array<{ dataId: object }>) => outs.forEach((o) => wasm.disposeData(o.dataId));
  const xnn = Math.max(timeMs(() => release(xnnRun())) - copy, 1e-3);
  const ours = timeMs(() => release(ownRun()));
  const [x0] = xnnRun();
  const [o0] = ownRun();
  const want = wasm.typedArrayFromHeap(x0) as Float32Array;
  const got = wasm.typedArrayFromHeap(o0) as Float32Array;
  const maxAbs = want.reduce((mx, v) => Math.max(mx, Math.abs(v)), 1e-30);
  const maxErr = got.reduce((mx, v, i) => Math.max(mx, Math.abs(v - want[i])), 0);
  release([x0, o0]);
  const rate = (ms: number) => ((36 * macs) / 1e9 / ms) * 1e3;
  console.log(
    JSON.stringify({
      name,
      threads: Number(values.threads),
      xnnpackGmacs: rate(xnn),
      ourGmacs: rate(ours),
      relDiff: maxErr / maxAbs,
    }),
  );
}

const rand = (shape: number[]) => Array.from({ length: 36 }, () => tf.randomNormal(shape));
// Forward products M = V U: V [tiles, ci], U [ci, co].
for (const [tiles, c] of [
  [8192, 64],
  [2048, 128],
  [512, 256],
  [128, 512],
  [16, 512],
]) {
  const v = rand([tiles, c]);
  const u = rand([c, c]);
  compare(
    `forward [${tiles}, ${c}] x [${c}, ${c}]`,
    v,
    v,
    u,
    (a, b, z) => k.matmul(at(a), at(b), z, c, tiles, c, 0),
    tiles * c * c,
  );
  tf.dispose([...v, ...u]);
}
// Filter-gradient products Z = V^T E: V, E [tiles, c]; XNNPACK needs V^T materialised.
for (const [tiles, c] of [
  [1024, 64],
  [256, 128],
  [64, 256],
  [16, 512],
]) {
  const v = rand([tiles, c]);
  const vt = v.map((x) => tf.transpose(x));
  const e = rand([tiles, c]);
  compare(
    `filter gradient, sum over ${tiles} tiles, ${c} x ${c}`,
    vt,
    v,
    e,
    (a, b, z) => k.outer_sums(at(a), at(b), z, tiles, c, c, 0),
    tiles * c * c,
  );
  tf.dispose([...v, ...vt, ...e]);
}
