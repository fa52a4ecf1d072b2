/**
 * `jcl eval knn|linear|features --checkpoint RUN_DIR|FILE`: evaluations of a checkpoint's backbone on
 * the dataset of its config (or flags). Each prints one JSON line {kind, metric, value, ..., split,
 * dataset, checkpoint}, writes it to the termination log (the operator's evaluation Jobs read it) and
 * appends it to <run dir>/evaluations.jsonl; `features` also writes <run dir>/features.json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../backend/select-backend.ts';
import { parseTrainingConfig } from '../config/parse-config.ts';
import type { TrainingConfig } from '../config/schema.ts';
import { LocalCollective } from '../distributed/collective.ts';
import { openDataset } from '../data/open-dataset.ts';
import {
  foldBooleanFlags,
  parseFeatureFlags,
  parseKnnFlags,
  parseLinearFlags,
} from '../eval/eval-options.ts';
import { appendEvaluation, runDirOfCheckpoint } from '../eval/evaluation-log.ts';
import { analyzeFeatures } from '../eval/feature-analysis.ts';
import { runLinearEval } from '../eval/linear-eval.ts';
import { loadLatestCheckpoint, openCheckpointRef } from '../train/checkpoint-store.ts';
import { isS3Uri } from '../util/s3-uri.ts';
import { createTrainState, disposeTrainState, restoreCheckpoint } from '../train/train-state.ts';
import type { StepState } from '../train/train-step.ts';
import { evaluateKnn } from '../train/trainer.ts';
import { createLogger, type Logger } from '../util/logger.ts';
import { JclError } from '../util/errors.ts';
import { parseFlags } from './parse-flags.ts';
import { writeTerminationMessage } from './termination-log.ts';

const KINDS = ['knn', 'linear', 'features'] as const;
type Kind = (typeof KINDS)[number];

const HELP = `usage: jcl eval <kind> --checkpoint FILE|RUN_DIR|s3://BUCKET/PREFIX[/ckpt-N.jclckpt] [--data-path P] [--backend B] [--output FILE] [options]

  object storage: [--s3-endpoint http(s)://host:port] [--s3-region R] [--s3-path-style]; credentials from
            AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a web identity token or the shared AWS config

  knn       k-NN (cosine, temperature-weighted votes) of the frozen backbone
            [--k 200] [--limit 5000]
  linear    linear evaluation protocol (paper): frozen backbone, BN in inference mode, one fc layer
            [--epochs 100] [--lr 30] [--batch 256] [--momentum 0.9] [--weight-decay 0]
            [--milestones 60,80] [--gamma 0.1] [--crop-min 0.08] [--crop-max 1] [--flip 0.5]
            [--cache-features] (extract features once, centre crop: fast, augmentation off)
            [--limit N] (the first N images of each split) [--seed 0]
  features  feature statistics: positive vs negative cosine similarity, key spread (Sigma), alignment,
            uniformity; also written to RUN_DIR/features.json
            [--images 200] [--keys 5] [--bins 40] [--encoder key|query] [--split test|train]

Every result is printed as one JSON line, written to the termination log and appended to
RUN_DIR/evaluations.jsonl.`;

const FLAGS = {
  checkpoint: { type: 'string' },
  's3-endpoint': { type: 'string' },
  's3-region': { type: 'string' },
  's3-path-style': { type: 'boolean' },
  'data-path': { type: 'string' },
  backend: { type: 'string' },
  output: { type: 'string' },
  limit: { type: 'string' },
  k: { type: 'string' },
  epochs: { type: 'string' },
  lr: { type: 'string' },
  batch: { type: 'string' },
  momentum: { type: 'string' },
  'weight-decay': { type: 'string' },
  milestones: { type: 'string' },
  gamma: { type: 'string' },
  'crop-min': { type: 'string' },
  'crop-max': { type: 'string' },
  flip: { type: 'string' },
  'cache-features': { type: 'boolean' },
  seed: { type: 'string' },
  images: { type: 'string' },
  keys: { type: 'string' },
  bins: { type: 'string' },
  encoder: { type: 'string' },
  split: { type: 'string' },
} as const;

/** Flags each kind accepts (besides the common ones), so a misspelt or misplaced flag is an error. */
const KIND_FLAGS: Record<Kind, readonly string[]> = {
  knn: ['k', 'limit'],
  linear: [
    'epochs',
    'lr',
    'batch',
    'momentum',
    'weight-decay',
    'milestones',
    'gamma',
    'crop-min',
    'crop-max',
    'flip',
    'cache-features',
    'limit',
    'seed',
  ],
  features: ['images', 'keys', 'bins', 'encoder', 'split', 'seed'],
};
const COMMON = [
  'checkpoint',
  's3-endpoint',
  's3-region',
  's3-path-style',
  'data-path',
  'backend',
  'output',
  'help',
];

export async function run(argv: string[]): Promise<number> {
  const [kind, ...rest] = argv;
  const { values } = parseFlags(foldBooleanFlags(rest, ['cache-features', 's3-path-style']), FLAGS);
  if (values.help || kind === undefined || kind === '--help' || kind === '-h') {
    process.stdout.write(HELP + '\n');
    return kind === undefined ? 64 : 0;
  }
  if (!(KINDS as readonly string[]).includes(kind))
    throw new JclError(
      'invalid_config',
      `eval kind: expected one of ${KINDS.join(', ')}, got ${JSON.stringify(kind)}`,
    );
  const k = kind as Kind;
  const misplaced = Object.keys(values).filter((f) => !COMMON.includes(f) && !KIND_FLAGS[k].includes(f));
  if (misplaced.length > 0)
    throw new JclError(
      'invalid_config',
      `--${misplaced[0]}: not an option of 'jcl eval ${k}', got ${JSON.stringify(values[misplaced[0]])}`,
    );
  if (!values.checkpoint) throw new JclError('invalid_config', '--checkpoint: required, got nothing');
  // Validate the kind's options before loading anything.
  const knnFlags = k === 'knn' ? asConfigError(() => parseKnnFlags(values)) : null;
  const linear = k === 'linear' ? asConfigError(() => parseLinearFlags(values)) : null;
  const features = k === 'features' ? asConfigError(() => parseFeatureFlags(values)) : null;

  const log = createLogger();
  const s3 = parseTrainingConfig(
    {
      checkpoint: {
        s3: {
          ...(values['s3-endpoint'] ? { endpoint: values['s3-endpoint'] } : {}),
          ...(values['s3-region'] ? { region: values['s3-region'] } : {}),
          pathStyle: Boolean(values['s3-path-style']),
        },
      },
    },
    { fieldPrefix: '--' },
  ).checkpoint.s3;
  const source = openCheckpointRef(values.checkpoint, s3, '--checkpoint');
  await source.storage.check(false);
  const found = await loadLatestCheckpoint(
    source.storage,
    (msg, where) => log.warn({ where }, msg),
    source.only,
  );
  if (!found) throw new JclError('not_found', `--checkpoint: no checkpoint in ${source.storage.location}`);
  const saved = found.ckpt.header.config as TrainingConfig;
  const cfg = parseTrainingConfig(
    {
      ...saved,
      data: { ...saved.data, ...(values['data-path'] ? { path: values['data-path'] } : {}) },
      eval: { ...saved.eval, ...(knnFlags?.k !== undefined ? { knnK: knnFlags.k } : {}) },
      runtime: { ...saved.runtime, ...(values.backend ? { backend: values.backend } : {}) },
    } as object,
    { worldSize: 1 },
  );
  await initBackend(cfg.runtime.backend, log);
  // Results of an evaluation of object storage are recorded in the pod's (or the current) run directory.
  const runDir = isS3Uri(values.checkpoint)
    ? (process.env.JCL_RUN_DIR ?? '.')
    : runDirOfCheckpoint(values.checkpoint);
  const train = openDataset(cfg.data, 'train', cfg.runtime.seed);
  const test = openDataset(cfg.data, 'test', cfg.runtime.seed);
  const st = createTrainState(cfg, train.channels, new LocalCollective());
  let result: Record<string, unknown>;
  try {
    restoreCheckpoint(st, found.ckpt);
    const where = { split: 'test', dataset: test.name, checkpoint: found.path };
    if (k === 'knn') {
      const knn = await evaluateKnn(st, cfg, train, test, knnFlags?.limit ?? 5000);
      result = { kind: 'knn', metric: 'top1', value: knn.top1, top5: knn.top5, k: knn.k, ...where };
    } else if (linear) {
      result = { ...(await evalLinear(st, cfg, train, test, linear, log)), ...where };
    } else {
      const f = features!;
      const ds = f.split === 'train' ? train : test;
      const a = await analyzeFeatures(f.encoder === 'key' ? st.key : st.query, ds, {
        images: f.images,
        keys: f.keys,
        bins: f.bins,
        size: cfg.data.imageSize,
        augment: cfg.data.augment,
        seed: f.seed,
        topEigen: Math.min(f.keys, 4),
      });
      const file = join(runDir, 'features.json');
      const head = {
        kind: 'features',
        metric: 'alignment',
        value: a.alignment,
        uniformity: a.uniformity,
        positiveCosineMean: a.positiveCosine.mean,
        negativeCosineMean: a.negativeCosine.mean,
        keyTraceMean: a.keySpread.trace.mean,
        topEigenvalues: a.keySpread.topEigenvalues,
        images: a.images,
        keys: a.keys,
        encoder: f.encoder,
        ...where,
        split: f.split,
        dataset: ds.name,
        file,
      };
      bestEffort(log, file, () => writeFileSync(file, JSON.stringify({ ...head, analysis: a }, null, 2)));
      result = head;
    }
  } finally {
    disposeTrainState(st);
  }
  const line = JSON.stringify(result);
  process.stdout.write(line + '\n');
  if (values.output) writeFileSync(values.output, line);
  writeTerminationMessage(line);
  // The result already reached stdout and the termination log; a read-only run dir only loses the record.
  bestEffort(log, join(runDir, 'evaluations.jsonl'), () => appendEvaluation(runDir, result));
  return 0;
}

async function evalLinear(
  st: StepState,
  cfg: TrainingConfig,
  train: ReturnType<typeof openDataset>,
  test: ReturnType<typeof openDataset>,
  o: ReturnType<typeof parseLinearFlags>,
  log: Logger,
): Promise<Record<string, unknown>> {
  if (o.cacheFeatures)
    log.info('--cache-features: features extracted once with the centre crop, so augmentation is off');
  // A diverging probe (RangeError naming --lr) is a configuration problem, not a retryable failure.
  const r = await asConfigErrorAsync(() =>
    runLinearEval(st.query, train, test, {
      ...o,
      size: cfg.data.imageSize,
      onEpoch: (e) =>
        log.info({ epoch: e.epoch + 1, epochs: o.epochs, lr: e.lr, loss: e.loss }, 'linear probe'),
    }),
  );
  return {
    kind: 'linear',
    metric: 'top1',
    value: r.top1,
    top5: r.top5,
    trainTop1: r.trainTop1,
    augmentation: r.augmentation,
    epochs: o.epochs,
    lr: o.lr,
    batch: o.batch,
    momentum: o.momentum,
    weightDecay: o.weightDecay,
    milestones: o.milestones,
    trainSize: r.trainSize,
    testSize: r.testSize,
  };
}

function bestEffort(log: Logger, path: string, write: () => unknown): void {
  try {
    write();
  } catch (err) {
    log.warn({ path, err: (err as Error).message }, 'could not write the evaluation record');
  }
}

/** RangeErrors from option parsing and the probe become exit code 64; anything else passes through. */
function asConfigError<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new JclError('invalid_config', err.message); // no cause: it would repeat the message
  }
}

async function asConfigErrorAsync<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    return asConfigError(() => {
      throw err;
    });
  }
}
