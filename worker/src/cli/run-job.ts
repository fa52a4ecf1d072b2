/**
 * Runs one worker's share of a training job end to end: backend, datasets, training, final k-NN,
 * backbone export and a summary file. Shared by `jcl train` (local) and `jcl worker` (pods).
 *
 * A run directory that already holds a run is checked first (train/open-resume.ts), before anything is
 * written: a config that cannot continue it fails with exit 64; a finished run re-run returns the kept
 * summary.json untouched (`complete: true`); more epochs continue from the checkpoint.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, type BackendInfo } from '../backend/select-backend.ts';
import type { TrainingConfig } from '../config/schema.ts';
import type { Collective } from '../distributed/collective.ts';
import { openDataset } from '../data/open-dataset.ts';
import { exportBackbone } from '../model/export-layers-model.ts';
import { LocalCollective } from '../distributed/collective.ts';
import type { KnnResult } from '../eval/knn.ts';
import { openResume, type ResumePoint } from '../train/open-resume.ts';
import { createTrainState, disposeTrainState } from '../train/train-state.ts';
import { evaluateKnn, runTraining, type ProgressEvent, type TrainSummary } from '../train/trainer.ts';
import type { Logger } from '../util/logger.ts';
import { createProgressBar } from './progress-bar.ts';

export interface JobResult {
  summary: Omit<TrainSummary, 'state'> & { knnRandomInit: KnnResult | null };
  backend: BackendInfo;
  exportDir: string | null;
  summaryPath: string | null;
  /** The run directory was already complete for this config: nothing trained, summary.json kept. */
  complete: boolean;
}

/** summary.json of a finished run, when it describes the given checkpoint's step (else null). */
export function readKeptResult(runDir: string, resume: ResumePoint | null): JobResult | null {
  if (resume?.decision.kind !== 'complete') return null;
  const summaryPath = join(runDir, 'summary.json');
  if (!existsSync(summaryPath)) return null;
  let kept: JobResult['summary'] & { backend: BackendInfo; exportDir: string | null };
  try {
    kept = JSON.parse(readFileSync(summaryPath, 'utf8'));
  } catch {
    return null; // unreadable: the run is re-finished (evaluation, export) and the file rewritten
  }
  if (kept.globalStep !== resume.ckpt.header.globalStep) return null;
  const { backend, exportDir, ...summary } = kept;
  return { summary, backend, exportDir, summaryPath, complete: true };
}

export async function runJob(
  cfg: TrainingConfig,
  o: {
    collective: Collective;
    log: Logger;
    progress: boolean;
    /** Receives every step's progress when there is no terminal bar (a gang's rank 0 reporting up). */
    onProgress?: (p: ProgressEvent) => void;
    onStatus?: (s: Record<string, unknown>) => void;
    stopAfterGlobalStep?: number;
  },
): Promise<JobResult> {
  const { log, collective } = o;
  const runDir = cfg.runtime.outDir;
  // Before the backend, the datasets or any write: a mismatch fails fast and leaves the run untouched.
  const resume =
    collective.rank === 0 ? await openResume(cfg, runDir, (msg, where) => log.warn({ where }, msg)) : null;
  const kept = readKeptResult(runDir, resume);
  // A gang still forms (the other ranks wait for rank 0's state) and finds nothing to train.
  if (kept && collective.worldSize === 1) return kept;
  const backend = await initBackend(cfg.runtime.backend, log);
  const skipLog = (msg: string) => log.warn(msg);
  const train = openDataset(cfg.data, 'train', cfg.runtime.seed, skipLog);
  // Every rank holds the held-out split: the k-NN monitor runs on all ranks in lockstep (trainer.ts).
  const test = openDataset(cfg.data, 'test', cfg.runtime.seed, skipLog);
  log.info(
    {
      dataset: train.name,
      images: train.size,
      classes: train.numClasses,
      skipped: train.skipped,
      model: cfg.model.arch,
      method: cfg.jcl.method,
      M: cfg.jcl.positives,
      lambda: cfg.jcl.lambda,
      tau: cfg.jcl.temperature,
      K: cfg.jcl.queueSize,
      batch: cfg.optim.batchSize,
      epochs: cfg.optim.epochs,
      rank: collective.rank,
      worldSize: collective.worldSize,
      runDir,
    },
    'training starts',
  );
  // The same backbone at its initial weights: the baseline that shows what training added. Every rank
  // evaluates it (same seed, same initial weights, no collectives), so that no rank waits inside a
  // collective while rank 0 alone computes; rank 0's summary records it, as in one process.
  const init = createTrainState(cfg, train.channels, new LocalCollective());
  const knnRandomInit: KnnResult = await evaluateKnn(init, cfg, train, test);
  disposeTrainState(init);
  log.info(
    { top1: knnRandomInit.top1, top5: knnRandomInit.top5 },
    'k-NN of the randomly initialised backbone (baseline)',
  );
  const bar = o.progress ? createProgressBar(process.stderr) : null;
  let summary: TrainSummary;
  try {
    summary = await runTraining(cfg, {
      collective,
      log,
      runDir,
      train,
      test,
      onProgress: bar ? (p) => bar.update(p) : o.onProgress,
      onStatus: o.onStatus,
      stopAfterGlobalStep: o.stopAfterGlobalStep,
      resume,
    });
  } finally {
    bar?.done();
  }
  const { state, ...trained } = summary;
  if (kept) {
    disposeTrainState(state);
    return { ...kept, backend };
  }
  const rest = { ...trained, knnRandomInit };
  let exportDir: string | null = null;
  let summaryPath: string | null = null;
  try {
    if (collective.rank === 0) {
      // A finished checkpoint without its summary (killed after the last save, or resumeFrom a finished
      // run): nothing to train, so the final k-NN runs here, on rank 0 alone (no collectives).
      if (trained.stepsRun === 0 && rest.knn === null) rest.knn = await evaluateKnn(state, cfg, train, test);
      exportDir = join(runDir, 'backbone');
      await exportBackbone(state.query, cfg, train.channels, exportDir);
      summaryPath = join(runDir, 'summary.json');
      writeFileSync(summaryPath, JSON.stringify({ ...rest, backend, exportDir, config: cfg }, null, 2));
    }
  } finally {
    disposeTrainState(state);
  }
  return { summary: rest, backend, exportDir, summaryPath, complete: false };
}
