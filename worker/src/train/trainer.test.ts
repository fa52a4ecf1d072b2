import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/select-backend.ts';
import { parseTrainingConfig } from '../config/parse-config.ts';
import { makeSyntheticDataset } from '../data/synthetic.ts';
import { LocalCollective } from '../distributed/collective.ts';
import * as tf from '../tf.ts';
import { createLogger } from '../util/logger.ts';
import { disposeTrainState } from './train-state.ts';
import { runTraining } from './trainer.ts';

const log = createLogger({ level: 'error', pretty: false });

function config(outDir: string, prefetch: number) {
  return parseTrainingConfig({
    model: { arch: 'resnet-tiny', embedDim: 8 },
    jcl: { positives: 2, queueSize: 32, lambda: 2 },
    optim: { batchSize: 16, epochs: 2, lr: 0.05 },
    data: { imageSize: 8, syntheticClasses: 4, syntheticPerClass: 16, prefetchBatches: prefetch },
    checkpoint: { everySteps: 2, everyEpochs: 0, keepLast: 5 },
    runtime: { outDir, seed: 3 },
  });
}

const train = makeSyntheticDataset({ classes: 4, perClass: 16, size: 8, channels: 3, seed: 3 }, 'train');

async function weights(dir: string, opts: { stopAfter?: number; prefetch?: number } = {}) {
  const cfg = config(dir, opts.prefetch ?? 0);
  const s = await runTraining(cfg, {
    collective: new LocalCollective(),
    log,
    runDir: dir,
    train,
    stopAfterGlobalStep: opts.stopAfter,
  });
  const q = await s.state.query.params.read();
  const k = await s.state.key.params.read();
  const queue = await s.state.queue.read();
  disposeTrainState(s.state);
  return { summary: s, q, k, queue };
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('runTraining', () => {
  it('a run stopped mid-epoch and resumed ends with bitwise the same weights, queue and pointer', async () => {
    const full = await weights(mkdtempSync(join(tmpdir(), 'full-')));
    const dir = mkdtempSync(join(tmpdir(), 'resumed-'));
    const stopped = await weights(dir, { stopAfter: 5 }); // last checkpoint at step 4: step 5 is lost as in a crash
    expect(stopped.summary.globalStep).toBe(5);
    const resumed = await weights(dir, { prefetch: 2 }); // and the prefetching loader gives the same crops
    expect(resumed.summary.resumedFrom).toMatch(/ckpt-000000004\.jclckpt$/);
    expect(resumed.summary.globalStep).toBe(8);
    for (const [name, v] of full.q)
      expect({ name, data: Array.from(resumed.q.get(name)!.data) }).toEqual({
        name,
        data: Array.from(v.data),
      });
    for (const [name, v] of full.k) expect(Array.from(resumed.k.get(name)!.data)).toEqual(Array.from(v.data));
    expect(resumed.queue.pointer).toBe(full.queue.pointer);
    expect(Array.from(resumed.queue.data)).toEqual(Array.from(full.queue.data));
    expect(resumed.summary.final).toEqual(full.summary.final);
  });

  it('keeps tf.memory().numTensors flat across training steps', async () => {
    const counts: number[] = [];
    const cfg = config(mkdtempSync(join(tmpdir(), 'mem-')), 0);
    const s = await runTraining(cfg, {
      collective: new LocalCollective(),
      log,
      runDir: cfg.runtime.outDir,
      train,
      onProgress: () => counts.push(tf.memory().numTensors),
    });
    disposeTrainState(s.state);
    expect(counts).toHaveLength(8);
    // The first step creates the SGD momentum buffers; from then on the count must not move.
    expect(new Set(counts.slice(1)).size).toBe(1);
  });

  it('refuses a dataset smaller than one global batch, naming the field', async () => {
    const cfg = parseTrainingConfig({
      optim: { batchSize: 128 },
      jcl: { queueSize: 256 },
      model: { arch: 'resnet-tiny' },
      data: { imageSize: 8 },
    });
    await expect(
      runTraining(cfg, {
        collective: new LocalCollective(),
        log,
        runDir: mkdtempSync(join(tmpdir(), 'x-')),
        train,
      }),
    ).rejects.toThrow(/optim\.batchSize: the dataset has 64 images, fewer than one global batch, got 128/);
  });
});
