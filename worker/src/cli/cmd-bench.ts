/**
 * `jcl bench step`: images/s of one full JCL step (query forward/backward, key encoder forward on M*B
 * crops, queue update) on the active backend, with synthetic inputs; `jcl bench allreduce`: collective
 * bandwidth against the TCP ceiling (worker/src/dist/bench-allreduce.ts).
 */
import { initBackend } from '../backend/select-backend.ts';
import { parseTrainingConfig } from '../config/parse-config.ts';
import { BACKENDS, MODEL_ARCHS, type BackendName, type ModelArch } from '../config/schema.ts';
import { runAllReduceBench } from '../dist/bench-allreduce.ts';
import { isDataPlane } from '../dist/dist-config.ts';
import { makeCropBatch } from '../data/make-batch.ts';
import { makeSyntheticDataset } from '../data/synthetic.ts';
import { LocalCollective } from '../dist/collective.ts';
import * as tf from '../tf.ts';
import { createTrainState, disposeTrainState } from '../train/train-state.ts';
import { runTrainStep, type StepBatch } from '../train/train-step.ts';
import { JclError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { median } from '../util/stats.ts';
import { parseFlags } from './parse-flags.ts';

export async function run(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (what === 'step') return benchStep(rest);
  if (what === 'allreduce') return benchAllReduce(rest);
  if (what === 'loader') return benchLoader(rest);
  process.stderr.write('usage: jcl bench step|loader|allreduce [options]  (--help for each)\n');
  return what === '--help' || what === '-h' ? 0 : 64;
}

function int(flag: string, raw: unknown, def: number, min: number, max: number): number {
  if (raw === undefined) return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new JclError(
      'invalid_config',
      `--${flag}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  return v;
}

export interface StepBenchResult {
  backend: string;
  model: ModelArch;
  batch: number;
  keys: number;
  imageSize: number;
  queue: number;
  steps: number;
  stepMs: number[];
  medianStepMs: number;
  imagesPerSec: number;
  peakRssMB: number;
  numTensorsGrowth: number;
}

async function benchStep(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    model: { type: 'string' },
    batch: { type: 'string' },
    keys: { type: 'string' },
    'image-size': { type: 'string' },
    channels: { type: 'string' },
    queue: { type: 'string' },
    steps: { type: 'string' },
    warmup: { type: 'string' },
    backend: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(
      'usage: jcl bench step [--model resnet18-cifar] [--batch 32] [--keys 4] [--image-size 32] [--channels 3] [--queue 4096] [--steps 5] [--warmup 2] [--backend auto] [--json]\n',
    );
    return 0;
  }
  const model = (values.model ?? 'resnet18-cifar') as ModelArch;
  if (!MODEL_ARCHS.includes(model))
    throw new JclError(
      'invalid_config',
      `--model: expected one of ${MODEL_ARCHS.join(', ')}, got ${JSON.stringify(model)}`,
    );
  const backendName = (values.backend ?? process.env.JCL_BACKEND ?? 'auto') as BackendName;
  if (!BACKENDS.includes(backendName))
    throw new JclError(
      'invalid_config',
      `--backend: expected one of ${BACKENDS.join(', ')}, got ${JSON.stringify(backendName)}`,
    );
  const batch = int('batch', values.batch, 32, 1, 4096);
  const m = int('keys', values.keys, 4, 1, 64);
  const size = int('image-size', values['image-size'], 32, 8, 512);
  const channels = int('channels', values.channels, 3, 1, 4);
  const queue = int('queue', values.queue, 4096, batch, 1 << 20);
  const steps = int('steps', values.steps, 5, 1, 1000);
  const warmup = int('warmup', values.warmup, 2, 0, 100);
  const backend = await initBackend(backendName);
  const cfg = parseTrainingConfig({
    model: { arch: model },
    jcl: { positives: m, queueSize: Math.ceil(queue / batch) * batch },
    optim: { batchSize: batch },
  });
  const st = createTrainState(cfg, channels, new LocalCollective());
  const rng = new Rng(1);
  const pix = size * size * channels;
  const makeBatch = (): StepBatch => ({
    query: Float32Array.from({ length: batch * pix }, () => rng.normal()),
    keys: Float32Array.from({ length: m * batch * pix }, () => rng.normal()),
    n: batch,
    m,
    size,
    channels,
  });
  const inputs = [makeBatch(), makeBatch()];
  const hp = { lr: 0.03, ratio: cfg.jcl.lambda, tau: cfg.jcl.temperature, keyMomentum: cfg.jcl.keyMomentum };
  const stepMs: number[] = [];
  let tensorsAfterWarmup = 0;
  for (let i = 0; i < warmup + steps; i++) {
    if (i === warmup) tensorsAfterWarmup = tf.memory().numTensors;
    const t0 = performance.now();
    await runTrainStep(st, inputs[i % 2], hp);
    if (i >= warmup) stepMs.push(performance.now() - t0);
    if (!values.json)
      process.stderr.write(
        `\rstep ${i + 1}/${warmup + steps}${i < warmup ? ' (warm-up)' : ''} ${(performance.now() - t0).toFixed(0)} ms\x1b[K`,
      );
  }
  if (!values.json) process.stderr.write('\n');
  const growth = tf.memory().numTensors - tensorsAfterWarmup;
  disposeTrainState(st);
  const med = median(stepMs);
  const result: StepBenchResult = {
    backend: backend.name,
    model,
    batch,
    keys: m,
    imageSize: size,
    queue: cfg.jcl.queueSize,
    steps,
    stepMs,
    medianStepMs: med,
    imagesPerSec: (batch * 1000) / med,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    numTensorsGrowth: growth,
  };
  if (values.json) process.stdout.write(JSON.stringify(result) + '\n');
  else
    process.stdout.write(
      `${model} batch ${batch} M=${m} ${size}x${size}x${channels} on ${backend.name}: ${result.imagesPerSec.toFixed(1)} images/s (median step ${med.toFixed(0)} ms), peak RSS ${result.peakRssMB.toFixed(0)} MB\n`,
    );
  return 0;
}

async function benchAllReduce(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    workers: { type: 'string' },
    mb: { type: 'string' },
    iters: { type: 'string' },
    plane: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(
      'usage: jcl bench allreduce [--workers 2] [--mb 45] [--iters 5] [--plane tcp|grpc] [--json]\n' +
        "  --plane  the workers' data plane (default: JCL_DATA_PLANE, else the runtime default)\n",
    );
    return 0;
  }
  const plane = values.plane ?? process.env.JCL_DATA_PLANE;
  if (plane !== undefined && !isDataPlane(plane))
    throw new JclError('invalid_config', `--plane: expected grpc or tcp, got ${JSON.stringify(plane)}`);
  const workers = int('workers', values.workers, 2, 2, 16);
  const mb = int('mb', values.mb, 45, 1, 2000);
  const iters = int('iters', values.iters, 5, 1, 100);
  // Collective tuning from the environment reaches the workers and sizes the gRPC reference the same way.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => /^JCL_(CHUNK|BUCKET|WINDOW)_BYTES$/.test(e[0]) && e[1] !== undefined,
    ),
  );
  const r = await runAllReduceBench({ workers, mb, iters, plane, env });
  if (values.json) process.stdout.write(JSON.stringify(r) + '\n');
  else
    process.stdout.write(
      `all-reduce ${workers} workers ${mb} MB over ${r.dataPlane}: algbw ${r.algbwGBps.toFixed(3)} GB/s, ` +
        `busbw ${r.busbwGBps.toFixed(3)} GB/s = ${(r.busbwOfCeiling * 100).toFixed(0)}% of the TCP ceiling ` +
        `${r.tcpCeilingGBps.toFixed(3)} GB/s (one direction), ${(r.busbwOfDuplexCeiling * 100).toFixed(0)}% of ` +
        `the duplex ceiling ${r.tcpDuplexCeilingGBps.toFixed(3)} GB/s per direction\n`,
    );
  return 0;
}

/** Crop throughput of the augmentation pipeline on one thread (the prefetch worker's budget). */
async function benchLoader(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    batch: { type: 'string' },
    keys: { type: 'string' },
    'image-size': { type: 'string' },
    batches: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(
      'usage: jcl bench loader [--batch 64] [--keys 3] [--image-size 16] [--batches 10] [--json]   (synthetic dataset, demo augmentation)\n',
    );
    return 0;
  }
  const batch = int('batch', values.batch, 64, 1, 4096);
  const m = int('keys', values.keys, 3, 1, 64);
  const size = int('image-size', values['image-size'], 16, 8, 512);
  const batches = int('batches', values.batches, 10, 1, 1000);
  const cfg = parseTrainingConfig({
    data: { imageSize: size, syntheticPerClass: Math.ceil((batch * 2) / 10) },
    optim: { batchSize: batch },
    jcl: { queueSize: batch },
  });
  const ds = makeSyntheticDataset(
    { classes: 10, perClass: cfg.data.syntheticPerClass, size, channels: 3, seed: 0 },
    'train',
  );
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    makeCropBatch(
      ds,
      Int32Array.from({ length: batch }, (_, i) => (b * batch + i) % ds.size),
      { epoch: b, seed: 0, m, size, augment: cfg.data.augment },
    );
  }
  const sec = (performance.now() - t0) / 1000;
  const result = {
    batch,
    keys: m,
    imageSize: size,
    batches,
    imagesPerSec: (batches * batch) / sec,
    cropsPerSec: (batches * batch * (m + 1)) / sec,
  };
  if (values.json) process.stdout.write(JSON.stringify(result) + '\n');
  else
    process.stdout.write(
      `loader: ${result.imagesPerSec.toFixed(0)} images/s (${result.cropsPerSec.toFixed(0)} crops/s) on one thread, batch ${batch}, M=${m}, ${size}x${size}\n`,
    );
  return 0;
}
