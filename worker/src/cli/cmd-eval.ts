/**
 * `jcl eval knn --checkpoint PATH|RUN_DIR`: k-NN accuracy of a checkpoint's query backbone on the
 * dataset of its config (or flags). Prints JSON; writes it to the termination log for the operator.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../backend/select-backend.ts';
import { parseTrainingConfig } from '../config/parse-config.ts';
import type { TrainingConfig } from '../config/schema.ts';
import { LocalCollective } from '../dist/collective.ts';
import { openDataset } from '../data/open-dataset.ts';
import { loadLatestCheckpoint } from '../train/checkpoint-store.ts';
import { createTrainState, disposeTrainState, restoreCheckpoint } from '../train/train-state.ts';
import { evaluateKnn } from '../train/trainer.ts';
import { createLogger } from '../util/logger.ts';
import { JclError } from '../util/errors.ts';
import { parseFlags } from './parse-flags.ts';
import { writeTerminationMessage } from './termination-log.ts';

export async function run(argv: string[]): Promise<number> {
  const [kind, ...rest] = argv;
  const { values } = parseFlags(rest, {
    checkpoint: { type: 'string' },
    k: { type: 'string' },
    'data-path': { type: 'string' },
    backend: { type: 'string' },
    limit: { type: 'string' },
    output: { type: 'string' },
  });
  if (values.help || kind === undefined || kind === '--help') {
    process.stdout.write(
      'usage: jcl eval knn --checkpoint FILE|RUN_DIR [--k 200] [--data-path P] [--limit 5000] [--output FILE]\n',
    );
    return kind === undefined ? 64 : 0;
  }
  if (kind !== 'knn')
    throw new JclError(
      'invalid_config',
      `eval kind: expected knn (linear and features come with the evaluation issue), got ${JSON.stringify(kind)}`,
    );
  if (!values.checkpoint) throw new JclError('invalid_config', '--checkpoint: required, got nothing');
  const log = createLogger();
  const from = values.checkpoint.endsWith('.jclckpt')
    ? values.checkpoint
    : join(values.checkpoint, 'checkpoints');
  const found = loadLatestCheckpoint(from, (msg, path) => log.warn({ path }, msg));
  if (!found) throw new JclError('not_found', `--checkpoint: no checkpoint in ${from}`);
  const saved = found.ckpt.header.config as TrainingConfig;
  const cfg = parseTrainingConfig(
    {
      ...saved,
      data: { ...saved.data, ...(values['data-path'] ? { path: values['data-path'] } : {}) },
      eval: { ...saved.eval, ...(values.k ? { knnK: Number(values.k) } : {}) },
      runtime: { ...saved.runtime, ...(values.backend ? { backend: values.backend } : {}) },
    } as object,
    { worldSize: 1 },
  );
  await initBackend(cfg.runtime.backend, log);
  const train = openDataset(cfg.data, 'train', cfg.runtime.seed);
  const test = openDataset(cfg.data, 'test', cfg.runtime.seed);
  const st = createTrainState(cfg, train.channels, new LocalCollective());
  try {
    restoreCheckpoint(st, found.ckpt);
    const knn = evaluateKnn(st, cfg, train, test, values.limit ? Number(values.limit) : 5000);
    const result = {
      kind: 'knn',
      metric: 'top1',
      value: knn.top1,
      top5: knn.top5,
      k: knn.k,
      split: 'test',
      dataset: test.name,
      checkpoint: found.path,
    };
    const line = JSON.stringify(result);
    process.stdout.write(line + '\n');
    if (values.output) writeFileSync(values.output, line);
    writeTerminationMessage(line);
    return 0;
  } finally {
    disposeTrainState(st);
  }
}
