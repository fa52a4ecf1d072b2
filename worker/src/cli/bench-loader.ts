/**
 * `jcl bench loader`: source images/s and crops/s of the training data path (the same BatchLoader,
 * loader threads and augmentation a training run uses) and the process's peak RSS, on the synthetic
 * dataset or a real ImageFolder:
 *   jcl bench loader --dataset image-folder --data-path DIR --image-size 224 --keys 5 [--loader-workers N] [--json]
 * bench/loader/ holds the torchvision DataLoader reference and the script that compares the two.
 */
import { parseTrainingConfig } from '../config/parse-config.ts';
import { BatchLoader, type BatchRequest } from '../data/batch-loader.ts';
import { openDataset } from '../data/open-dataset.ts';
import { epochOrder } from '../data/sampler.ts';
import { JclError } from '../util/errors.ts';
import { parseFlags, parseIntFlag as int } from './parse-flags.ts';

const USAGE =
  'usage: jcl bench loader [--dataset synthetic|image-folder] [--data-path DIR] [--image-size 16] [--keys 3]\n' +
  '                        [--batch 64] [--batches 10] [--warmup 1] [--loader-workers N (0: one per CPU)]\n' +
  '                        [--prefetch 2] [--json]\n';

/** The measured figures (also the --json line). */
export interface LoaderBenchResult {
  dataset: string;
  datasetSize: number;
  batch: number;
  keys: number;
  imageSize: number;
  batches: number;
  loaderWorkers: number;
  openMs: number;
  imagesPerSec: number;
  cropsPerSec: number;
  peakRssMB: number;
  skipped: number;
}

export async function benchLoader(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    dataset: { type: 'string' },
    'data-path': { type: 'string' },
    batch: { type: 'string' },
    keys: { type: 'string' },
    'image-size': { type: 'string' },
    batches: { type: 'string' },
    warmup: { type: 'string' },
    'loader-workers': { type: 'string' },
    prefetch: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const format = (values.dataset as string | undefined) ?? 'synthetic';
  if (format !== 'synthetic' && format !== 'image-folder')
    throw new JclError('invalid_config', `--dataset: expected synthetic or image-folder, got ${format}`);
  if (format === 'image-folder' && !values['data-path'])
    throw new JclError(
      'invalid_config',
      '--data-path: required with --dataset image-folder (a torchvision ImageFolder)',
    );
  const batch = int('batch', values.batch, 64, 1, 4096);
  const m = int('keys', values.keys, 3, 1, 64);
  const size = int('image-size', values['image-size'], format === 'synthetic' ? 16 : 224, 8, 1024);
  const batches = int('batches', values.batches, 10, 1, 100000);
  const warmup = int('warmup', values.warmup, 1, 0, 1000);
  const workers = int('loader-workers', values['loader-workers'], 0, 0, 256);
  const prefetch = int('prefetch', values.prefetch, 2, 1, 64);
  const cfg = parseTrainingConfig({
    data: {
      format,
      path: (values['data-path'] as string | undefined) ?? '',
      imageSize: size,
      syntheticPerClass: Math.ceil((batch * 2) / 10),
      prefetchBatches: prefetch,
      loaderWorkers: workers,
    },
    optim: { batchSize: batch },
    jcl: { queueSize: batch },
  });
  const r = await measureLoader(cfg.data, { batch, m, batches, warmup, seed: 0 });
  if (values.json) process.stdout.write(JSON.stringify(r) + '\n');
  else
    process.stdout.write(
      `loader: ${r.imagesPerSec.toFixed(1)} images/s (${r.cropsPerSec.toFixed(0)} crops/s) with ${r.loaderWorkers} loader thread(s), ` +
        `batch ${batch}, M=${m}, ${size}x${size}, ${r.datasetSize} images (indexed in ${r.openMs.toFixed(0)} ms), peak RSS ${r.peakRssMB.toFixed(0)} MB\n`,
    );
  return 0;
}

/** Runs `warmup + batches` batches through a BatchLoader in epoch order and times the last `batches`. */
export async function measureLoader(
  data: ReturnType<typeof parseTrainingConfig>['data'],
  o: { batch: number; m: number; batches: number; warmup: number; seed: number },
): Promise<LoaderBenchResult> {
  const t0 = performance.now();
  const ds = openDataset(data, 'train', o.seed);
  const openMs = performance.now() - t0;
  const loader = new BatchLoader(ds, { data, seed: o.seed, m: o.m });
  const perEpoch = Math.max(1, Math.floor(ds.size / o.batch));
  const request = (s: number): BatchRequest => {
    const epoch = Math.floor(s / perEpoch);
    const start = (s % perEpoch) * o.batch;
    const order = epochOrder(ds.size, epoch, o.seed);
    return { epoch, indices: Int32Array.from({ length: o.batch }, (_, i) => order[(start + i) % ds.size]) };
  };
  try {
    const total = o.warmup + o.batches;
    let tStart = performance.now();
    for (let s = 0; s < total; s++) {
      if (s === o.warmup) tStart = performance.now();
      const upcoming = Array.from({ length: data.prefetchBatches }, (_, a) => request(s + 1 + a));
      await loader.next(request(s), upcoming);
    }
    const sec = (performance.now() - tStart) / 1000;
    return {
      dataset: ds.name,
      datasetSize: ds.size,
      batch: o.batch,
      keys: o.m,
      imageSize: data.imageSize,
      batches: o.batches,
      loaderWorkers: loader.workers,
      openMs,
      imagesPerSec: (o.batches * o.batch) / sec,
      cropsPerSec: (o.batches * o.batch * (o.m + 1)) / sec,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      skipped: loader.skipped,
    };
  } finally {
    await loader.close();
  }
}
