/**
 * Where a training step spends its time on the fast wasm path, per kernel:
 *
 *   npx tsx bench/kernels/profile-step.ts [--batch 32] [--steps 3] [--threads 1] [--stock] [--jcl --keys 4]
 *       [--by-shape Conv2D,Conv2DBackpropFilter]
 *
 * Default: a plain resnet18-cifar SGD step on tf.* ops (bench/kernels/resnet18-ops.ts). With --jcl:
 * the trainer's own JCL step (worker/src/train, the step `jcl bench step` times: query
 * forward/backward plus the key encoder on M*N crops). Prints the step times after one warm-up, the
 * per-kernel share of a step, and the time outside kernels (tape bookkeeping, allocation, JavaScript).
 * --by-shape splits the listed kernels into one row per combination of input shapes.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers the gradient functions of tfjs-core ops
import { loadWasmBackend } from '../../worker/src/backend/load-wasm-backend.ts';
import { parseTrainingConfig } from '../../worker/src/config/parse-config.ts';
import { LocalCollective } from '../../worker/src/distributed/collective.ts';
import { createTrainState } from '../../worker/src/train/train-state.ts';
import { runTrainStep } from '../../worker/src/train/train-step.ts';
import { installKernelTimers } from './kernel-timer.ts';
import { createResnet18Params, resnet18Loss } from './resnet18-ops.ts';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '32' },
    steps: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' },
    stock: { type: 'boolean', default: false },
    jcl: { type: 'boolean', default: false },
    keys: { type: 'string', default: '4' },
    'by-shape': { type: 'string', default: '' },
  },
});
const batch = Number(values.batch);
const detail = await loadWasmBackend({ threads: Number(values.threads), fastKernels: !values.stock });
const params = createResnet18Params();
const x = tf.randomNormal([batch, 32, 32, 3]) as tf.Tensor4D;
const labels = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32') as tf.Tensor1D, 10) as tf.Tensor2D;

/** variableGrads -> SGD update -> dispose, the shape of the trainer's step. */
function plainStep(): void {
  const { value, grads } = tf.variableGrads(() => resnet18Loss(params, x, labels));
  tf.tidy(() => {
    for (const v of Object.values(params)) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.01)));
  });
  value.dataSync();
  tf.dispose([value, ...Object.values(grads)]);
}

/** The trainer's JCL step on synthetic crops (as worker/src/cli/cmd-bench.ts sets it up). */
function makeJclStep(): () => Promise<void> {
  const m = Number(values.keys);
  const cfg = parseTrainingConfig({
    model: { arch: 'resnet18-cifar' },
    jcl: { positives: m, queueSize: 4096 },
    optim: { batchSize: batch },
  });
  const st = createTrainState(cfg, 3, new LocalCollective());
  const pix = 32 * 32 * 3;
  const query = Float32Array.from({ length: batch * pix }, () => Math.random() * 2 - 1);
  const keys = Float32Array.from({ length: m * batch * pix }, () => Math.random() * 2 - 1);
  const hp = { lr: 0.03, ratio: cfg.jcl.lambda, tau: cfg.jcl.temperature, keyMomentum: cfg.jcl.keyMomentum };
  return async () => {
    await runTrainStep(st, { query, keys, n: batch, m, size: 32, channels: 3 }, hp);
  };
}
const step: () => void | Promise<void> = values.jcl ? makeJclStep() : plainStep;

await step();
const byShape = new Set(values['by-shape'].split(',').filter((k) => k !== ''));
const { times, uninstall } = installKernelTimers('wasm', byShape);
const stepMs: number[] = [];
const stepCpuMs: number[] = [];
const tensorsBefore = tf.memory().numTensors;
for (let i = 0; i < Number(values.steps); i++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await step();
  stepMs.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  stepCpuMs.push((c.user + c.system) / 1000);
}
uninstall();
const steps = stepMs.length;
const best = Math.min(...stepMs);
const mean = stepMs.reduce((a, b) => a + b, 0) / steps;
const rows = [...times.entries()].sort((a, b) => b[1].cpuMs - a[1].cpuMs);
const kernelMs = rows.reduce((a, [, r]) => a + r.ms, 0) / steps;
console.log(
  JSON.stringify({
    what: values.jcl ? `resnet18-cifar JCL step (keys ${values.keys})` : 'resnet18-cifar step',
    backend: values.stock ? 'wasm-stock' : 'wasm-fast',
    threads: detail.threads,
    batch,
    stepMs,
    stepCpuMs,
    bestMs: best,
    bestCpuMs: Math.min(...stepCpuMs),
    imagesPerS: (batch * 1000) / best,
    leakedTensors: tf.memory().numTensors - tensorsBefore,
  }),
);
const meanCpu = stepCpuMs.reduce((a, b) => a + b, 0) / steps;
const kernelCpuMs = rows.reduce((a, [, r]) => a + r.cpuMs, 0) / steps;
console.log(
  `kernel | wall ms/step | CPU ms/step | calls/step | share of step CPU (${meanCpu.toFixed(0)} ms)`,
);
for (const [name, r] of rows.slice(0, byShape.size > 0 ? 40 : 16)) {
  const share = (100 * r.cpuMs) / steps / meanCpu;
  console.log(
    `${name} | ${(r.ms / steps).toFixed(1)} | ${(r.cpuMs / steps).toFixed(1)} | ${r.calls / steps} | ${share.toFixed(1)}%`,
  );
}
const outside = meanCpu - kernelCpuMs;
console.log(
  `(outside kernels) | ${(mean - kernelMs).toFixed(1)} | ${outside.toFixed(1)} | - | ${((100 * outside) / meanCpu).toFixed(1)}%`,
);
