/**
 * `jcl bench step`: images/s of one full JCL step (query forward/backward, key encoder forward on M*B
 * crops, queue update) on the active backend, with synthetic inputs; with `--workers N`, the same step as
 * a data-parallel gang of N local processes (each B/N images, gradients all-reduced over the TCP data
 * plane, shuffled key batch norm), the whole-machine figure. `jcl bench allreduce`: collective bandwidth
 * against the TCP ceiling (worker/src/distributed/bench-allreduce.ts).
 */
import { initBackend } from '../backend/select-backend.ts';
import { parseTrainingConfig } from '../config/parse-config.ts';
import { BACKENDS, MODEL_ARCHS, type BackendName, type ModelArch } from '../config/schema.ts';
import { runAllReduceBench } from '../distributed/bench-allreduce.ts';
import { isDataPlane } from '../distributed/dist-config.ts';
import { GRADIENT_DTYPES, type GradientDtype } from '../distributed/bf16.ts';
import { LocalCollective, type Collective } from '../distributed/collective.ts';
import { createCollectiveFromEnv } from '../distributed/create-collective.ts';
import { launchLocalWorkers } from '../distributed/launch-local.ts';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../util/logger.ts';
import * as tf from '../tf.ts';
import { createTrainState, disposeTrainState } from '../train/train-state.ts';
import { runTrainStep, type StepBatch } from '../train/train-step.ts';
import { JclError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { median } from '../util/stats.ts';
import { benchLoader } from './bench-loader.ts';
import { parseFlags, parseIntFlag as int } from './parse-flags.ts';

export async function run(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (what === 'step') return benchStep(rest);
  if (what === 'allreduce') return benchAllReduce(rest);
  if (what === 'loader') return benchLoader(rest);
  // Asked-for help goes to stdout (exit 0), like every other command; a missing or unknown target is a
  // usage error on stderr (exit 64).
  const help = what === '--help' || what === '-h';
  const usage = 'usage: jcl bench step|loader|allreduce [options]  (--help for each)\n';
  if (help) process.stdout.write(usage);
  else
    process.stderr.write(
      `${what === undefined ? '' : `jcl bench: unknown benchmark ${JSON.stringify(what)}\n`}${usage}`,
    );
  return help ? 0 : 64;
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
  /** The largest peak RSS of the gang's processes (the only one with one worker). */
  peakRssMB: number;
  numTensorsGrowth: number;
  /** With --workers N: processes in the gang and each one's peak RSS, rank order. */
  workers?: number;
  peakRssMBPerWorker?: number[];
}

/** What each process of a `--workers` gang prints on stdout when its steps are done. */
interface WorkerReport {
  benchWorker: true;
  rank: number;
  backend: string;
  stepMs: number[];
  peakRssMB: number;
  numTensorsGrowth: number;
}

const JCL_BIN = fileURLToPath(new URL('../../../bin/jcl.js', import.meta.url));

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
    workers: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(
      'usage: jcl bench step [--model resnet18-cifar] [--batch 32] [--keys 4] [--image-size 32] [--channels 3] [--queue 4096] [--steps 5] [--warmup 2] [--backend auto] [--workers 1] [--json]\n' +
        '  --workers N: the step as a data-parallel gang of N local processes (batch split evenly), the whole-machine figure\n',
    );
    return 0;
  }
  const model = (values.model ?? 'resnet18-cifar') as ModelArch;
  if (!MODEL_ARCHS.includes(model))
    throw new JclError(
      'invalid_config',
      `--model: expected one of ${MODEL_ARCHS.join(', ')}, got ${JSON.stringify(model)}`,
    );
  const backendName = (values.backend ??
    process.env.JCL_BACKEND ??
    process.env.JCL_IMAGE_BACKEND ??
    'auto') as BackendName;
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
  const workers = int('workers', values.workers, 1, 1, 64);
  if (batch % workers !== 0)
    throw new JclError(
      'invalid_config',
      `--batch: must split evenly over --workers ${workers}, got ${batch} (try ${Math.ceil(batch / workers) * workers})`,
    );
  const queueSize = Math.ceil(queue / batch) * batch; // the queue takes whole batches of keys
  const inGang = workers > 1 && process.env.JCL_RANK !== undefined;
  if (workers > 1 && !inGang)
    return benchStepGang(argv, workers, {
      model,
      batch,
      m,
      size,
      queueSize,
      steps,
      json: Boolean(values.json),
    });
  const backend = await initBackend(backendName);
  const cfg = parseTrainingConfig({
    model: { arch: model },
    jcl: { positives: m, queueSize },
    optim: { batchSize: batch },
  });
  const log = createLogger({ pretty: false, level: values.json || inGang ? 'warn' : undefined });
  const collective: Collective = inGang
    ? await createCollectiveFromEnv(process.env, log)
    : new LocalCollective();
  const local = batch / workers;
  const st = createTrainState(cfg, channels, collective);
  const rng = new Rng(1 + collective.rank);
  const pix = size * size * channels;
  const makeBatch = (): StepBatch => ({
    query: Float32Array.from({ length: local * pix }, () => rng.normal()),
    keys: Float32Array.from({ length: m * local * pix }, () => rng.normal()),
    n: local,
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
    if (!values.json && !inGang)
      process.stderr.write(
        `\rstep ${i + 1}/${warmup + steps}${i < warmup ? ' (warm-up)' : ''} ${(performance.now() - t0).toFixed(0)} ms\x1b[K`,
      );
  }
  if (!values.json && !inGang) process.stderr.write('\n');
  const growth = tf.memory().numTensors - tensorsAfterWarmup;
  disposeTrainState(st);
  if (inGang) {
    await collective.close();
    const report: WorkerReport = {
      benchWorker: true,
      rank: collective.rank,
      backend: backend.name,
      stepMs,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      numTensorsGrowth: growth,
    };
    process.stdout.write(JSON.stringify(report) + '\n');
    return 0;
  }
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
  printStepResult(result, Boolean(values.json));
  return 0;
}

function printStepResult(r: StepBenchResult, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const gang = r.workers ? ` x ${r.workers} worker processes` : '';
  const rss = r.peakRssMBPerWorker
    ? `peak RSS per worker ${r.peakRssMBPerWorker.map((v) => v.toFixed(0)).join(' / ')} MB`
    : `peak RSS ${r.peakRssMB.toFixed(0)} MB`;
  process.stdout.write(
    `${r.model} batch ${r.batch} M=${r.keys} ${r.imageSize}x${r.imageSize} on ${r.backend}${gang}: ${r.imagesPerSec.toFixed(1)} images/s (median step ${r.medianStepMs.toFixed(0)} ms), ${rss}\n`,
  );
}

/**
 * `--workers N`: run this same command as a gang of N local processes (launch-local.ts, the launcher of
 * `jcl train --workers`) and combine their reports: a step of the gang takes as long as its slowest rank.
 */
async function benchStepGang(
  argv: string[],
  workers: number,
  o: {
    model: ModelArch;
    batch: number;
    m: number;
    size: number;
    queueSize: number;
    steps: number;
    json: boolean;
  },
): Promise<number> {
  const log = createLogger({ level: o.json ? 'warn' : undefined });
  const reports: WorkerReport[] = [];
  const code = await launchLocalWorkers({
    workers,
    log,
    command: [process.execPath, JCL_BIN, 'bench', 'step'],
    args: argv,
    env: { JCL_LOG_FORMAT: 'json' },
    onLine: (rank, line, stream) => {
      if (stream === 'stdout' && line.startsWith('{"benchWorker"'))
        reports.push(JSON.parse(line) as WorkerReport);
      else if (!o.json || stream === 'stderr') process.stderr.write(`[rank ${rank}] ${line}\n`);
    },
  });
  if (code !== 0) return code;
  if (reports.length !== workers)
    throw new JclError('internal', `bench step --workers ${workers}: got ${reports.length} worker reports`);
  reports.sort((a, b) => a.rank - b.rank);
  const stepMs = reports[0].stepMs.map((_, i) => Math.max(...reports.map((r) => r.stepMs[i])));
  const med = median(stepMs);
  const perWorker = reports.map((r) => r.peakRssMB);
  printStepResult(
    {
      backend: reports[0].backend,
      model: o.model,
      batch: o.batch,
      keys: o.m,
      imageSize: o.size,
      queue: o.queueSize,
      steps: o.steps,
      stepMs,
      medianStepMs: med,
      imagesPerSec: (o.batch * 1000) / med,
      peakRssMB: Math.max(...perWorker),
      numTensorsGrowth: Math.max(...reports.map((r) => r.numTensorsGrowth)),
      workers,
      peakRssMBPerWorker: perWorker,
    },
    o.json,
  );
  return 0;
}

async function benchAllReduce(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    workers: { type: 'string' },
    mb: { type: 'string' },
    iters: { type: 'string' },
    plane: { type: 'string' },
    dtype: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(
      'usage: jcl bench allreduce [--workers 2] [--mb 45] [--iters 5] [--plane tcp|grpc] [--dtype float32|bfloat16] [--json]\n' +
        "  --plane  the workers' data plane (default: JCL_DATA_PLANE, else the runtime default)\n" +
        '  --dtype  element type on the wire (bfloat16: half the bytes, float32 accumulation; default float32)\n',
    );
    return 0;
  }
  const plane = values.plane ?? process.env.JCL_DATA_PLANE;
  if (plane !== undefined && !isDataPlane(plane))
    throw new JclError('invalid_config', `--plane: expected grpc or tcp, got ${JSON.stringify(plane)}`);
  const dtype = values.dtype ?? 'float32';
  if (!(GRADIENT_DTYPES as readonly string[]).includes(dtype))
    throw new JclError(
      'invalid_config',
      `--dtype: expected one of ${GRADIENT_DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`,
    );
  const workers = int('workers', values.workers, 2, 2, 16);
  const mb = int('mb', values.mb, 45, 1, 2000);
  const iters = int('iters', values.iters, 5, 1, 100);
  // Collective tuning from the environment reaches the workers and sizes the gRPC reference the same way.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        /^JCL_((CHUNK|BUCKET|WINDOW)_BYTES|TCP_STREAMS)$/.test(e[0]) && e[1] !== undefined,
    ),
  );
  const r = await runAllReduceBench({ workers, mb, iters, plane, env, dtype: dtype as GradientDtype });
  if (values.json) process.stdout.write(JSON.stringify(r) + '\n');
  else
    process.stdout.write(
      `all-reduce ${workers} workers ${mb} MB (${r.dtype} on the wire) over ${r.dataPlane}: algbw ${r.algbwGBps.toFixed(3)} GB/s, ` +
        `busbw ${r.busbwGBps.toFixed(3)} GB/s = ${(r.busbwOfCeiling * 100).toFixed(0)}% of the TCP ceiling ` +
        `${r.tcpCeilingGBps.toFixed(3)} GB/s (one direction), ${(r.busbwOfDuplexCeiling * 100).toFixed(0)}% of ` +
        `the duplex ceiling ${r.tcpDuplexCeilingGBps.toFixed(3)} GB/s per direction\n`,
    );
  return 0;
}
