/**
 * Where a resnet18-cifar training step spends its time on the fast wasm path, per kernel:
 *
 *   npx tsx bench/kernels/profile-step.ts [--batch 32] [--steps 3] [--threads 1] [--stock]
 *
 * Prints the step time (min over --steps after one warm-up), the per-kernel share of one step,
 * and the time outside kernels (tape bookkeeping, allocation, JavaScript).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers the gradient functions of tfjs-core ops
import { loadWasmBackend } from '../../worker/src/backend/load-wasm-backend.ts';
import { installKernelTimers } from './kernel-timer.ts';
import { createResnet18Params, resnet18Loss } from './resnet18-ops.ts';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '32' },
    steps: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' },
    stock: { type: 'boolean', default: false },
  },
});
const batch = Number(values.batch);
const detail = await loadWasmBackend({ threads: Number(values.threads), fastKernels: !values.stock });
const params = createResnet18Params();
const x = tf.randomNormal([batch, 32, 32, 3]) as tf.Tensor4D;
const labels = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32') as tf.Tensor1D, 10) as tf.Tensor2D;

/** variableGrads -> SGD update -> dispose, the shape of the trainer's step. */
function step(): void {
  const { value, grads } = tf.variableGrads(() => resnet18Loss(params, x, labels));
  tf.tidy(() => {
    for (const v of Object.values(params)) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.01)));
  });
  value.dataSync();
  tf.dispose([value, ...Object.values(grads)]);
}

step();
const { times, uninstall } = installKernelTimers('wasm');
const stepMs: number[] = [];
const tensorsBefore = tf.memory().numTensors;
for (let i = 0; i < Number(values.steps); i++) {
  const t0 = performance.now();
  step();
  stepMs.push(performance.now() - t0);
}
uninstall();
const steps = stepMs.length;
const best = Math.min(...stepMs);
const mean = stepMs.reduce((a, b) => a + b, 0) / steps;
const rows = [...times.entries()].sort((a, b) => b[1].ms - a[1].ms);
const kernelMs = rows.reduce((a, [, r]) => a + r.ms, 0) / steps;
console.log(JSON.stringify({ what: 'resnet18-cifar step', backend: values.stock ? 'wasm-stock' : 'wasm-fast', threads: detail.threads, batch, stepMs, bestMs: best, imagesPerS: (batch * 1000) / best, leakedTensors: tf.memory().numTensors - tensorsBefore }));
console.log(`kernel | ms/step | calls/step | share of mean step (${mean.toFixed(0)} ms)`);
for (const [name, r] of rows.slice(0, 16)) {
  console.log(`${name} | ${(r.ms / steps).toFixed(1)} | ${r.calls / steps} | ${((100 * r.ms) / steps / mean).toFixed(1)}%`);
}
console.log(`(outside kernels) | ${(mean - kernelMs).toFixed(1)} | - | ${((100 * (mean - kernelMs)) / mean).toFixed(1)}%`);
