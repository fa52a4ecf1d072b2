/**
 * The training loop: data order, schedules, steps, metrics, checkpoints and the k-NN monitor, for one
 * worker of a (possibly 1-worker) data-parallel job. I/O happens through the injected dependencies.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainingConfig } from '../config/schema.ts';
import type { Collective } from '../distributed/collective.ts';
import { BatchLoader, type BatchRequest } from '../data/batch-loader.ts';
import type { ImageDataset } from '../data/dataset.ts';
import { epochOrder, shardIndices, stepsPerEpoch } from '../data/sampler.ts';
import { extractFeatures } from '../eval/extract-features.ts';
import { knnClassify, type KnnResult } from '../eval/knn.ts';
import { lambdaAt, learningRateAt } from '../jcl/schedules.ts';
import type { Logger } from '../util/logger.ts';
import { JclError } from '../util/errors.ts';
import { TimedCollective } from '../distributed/timed-collective.ts';
import { verifyIdenticalAcrossRanks } from '../distributed/verify-identical.ts';
import type { CheckpointStorage } from './checkpoint-storage.ts';
import { openRunCheckpoints, saveCheckpoint } from './checkpoint-store.ts';
import { openResume, type ResumePoint } from './open-resume.ts';
import {
  captureCheckpoint,
  createTrainState,
  disposeTrainState,
  restoreCheckpoint,
  syncStateFromRankZero,
  type Position,
} from './train-state.ts';
import { runTrainStep, type StepMetrics, type StepState } from './train-step.ts';

export interface ProgressEvent extends StepMetrics {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  globalStep: number;
  totalSteps: number;
  lr: number;
  lambda: number;
  imagesPerSec: number;
  etaSec: number;
  /** Wall time of the step, and the part of it spent in collectives (0 with one worker). */
  stepMs: number;
  commMs: number;
}

export interface TrainerDeps {
  collective: Collective;
  log: Logger;
  runDir: string;
  train: ImageDataset;
  /** Held-out split for the k-NN monitor (optional). */
  test?: ImageDataset;
  onProgress?: (p: ProgressEvent) => void;
  onStatus?: (s: Record<string, unknown>) => void;
  /** Where rank 0 writes checkpoints; default checkpoint.uri, else <runDir>/checkpoints. */
  checkpoints?: CheckpointStorage;
  /** Stop (as if killed) after this global step; for resume tests and the fault drills. */
  stopAfterGlobalStep?: number;
  /**
   * Rank 0's checkpoint to continue from, already checked against cfg (openResume); null = fresh.
   * Left out, rank 0 runs openResume itself.
   */
  resume?: ResumePoint | null;
}

export interface TrainSummary {
  globalStep: number;
  epochs: number;
  final: StepMetrics | null;
  lastCheckpoint: string | null;
  resumedFrom: string | null;
  /** Steps this call trained (0: the checkpoint was already at the requested epochs). */
  stepsRun: number;
  knn: KnnResult | null;
  imagesPerSec: number;
  loaderWaitMs: number;
  state: StepState;
}

/** Runs (or resumes) training; the caller disposes `summary.state` via disposeTrainState. */
export async function runTraining(cfg: TrainingConfig, deps: TrainerDeps): Promise<TrainSummary> {
  const { collective, log, train } = deps;
  const world = collective.worldSize;
  const rank = collective.rank;
  const globalBatch = cfg.optim.batchSize;
  const m = cfg.jcl.positives;
  const steps = stepsPerEpoch(train.size, globalBatch, cfg.optim.stepsPerEpoch);
  if (steps === 0) {
    throw new JclError(
      'invalid_config',
      `optim.batchSize: the dataset has ${train.size} images, fewer than one global batch, got ${globalBatch}`,
    );
  }
  const ckptDir = join(deps.runDir, 'checkpoints');
  mkdirSync(deps.runDir, { recursive: true });
  const metricsPath = join(deps.runDir, rank === 0 ? 'metrics.jsonl' : `metrics-rank${rank}.jsonl`);

  const timed = new TimedCollective(collective);
  const st = createTrainState(cfg, train.channels, timed);
  let pos: Position = { epoch: 0, stepInEpoch: 0, globalStep: 0 };
  let resumedFrom: string | null = null;
  let final: StepMetrics | null = null;
  // Only rank 0 touches checkpoint storage (the others get its state by broadcast below), so only rank 0
  // needs the claim or the credentials; it checks them before any step, not at the first save.
  const storage = deps.checkpoints ?? openRunCheckpoints(cfg.checkpoint, ckptDir);
  if (rank === 0) {
    await storage.check(true);
    const found =
      deps.resume !== undefined
        ? deps.resume
        : await openResume(cfg, deps.runDir, (msg, where) => log.warn({ where }, msg), storage);
    if (found) {
      pos = restoreCheckpoint(st, found.ckpt);
      resumedFrom = found.path;
      final = (found.ckpt.header.info.final as StepMetrics | undefined) ?? null;
      log.info(
        {
          checkpoint: found.path,
          epoch: pos.epoch,
          step: pos.stepInEpoch,
          globalStep: pos.globalStep,
          changes: found.decision.changes,
        },
        found.decision.kind === 'complete'
          ? 'run already complete at this checkpoint'
          : 'resuming from checkpoint',
      );
    }
  }
  pos = await syncStateFromRankZero(st, cfg, pos);
  if (pos.globalStep !== pos.epoch * steps + pos.stepInEpoch) {
    disposeTrainState(st);
    throw new JclError(
      'resume_mismatch',
      `${resumedFrom ?? 'the checkpoint'}: step ${pos.globalStep} is not epoch ${pos.epoch} step ${pos.stepInEpoch} at ` +
        `${steps} steps per epoch: the dataset (${train.size} images) or the batch changed since it was written. ` +
        'Nothing was changed; train into a new run directory (--out DIR) or use the same data.',
    );
  }

  const loader = new BatchLoader(train, {
    data: cfg.data,
    seed: cfg.runtime.seed,
    m,
    log: (msg, fields) => log.warn(fields, msg),
  });
  log.info(
    { loaderWorkers: loader.workers, prefetchBatches: cfg.data.prefetchBatches },
    'data loader started',
  );
  const totalSteps = steps * cfg.optim.epochs;
  let lastCheckpoint: string | null = resumedFrom;
  let knn: KnnResult | null = null;
  const startStep = pos.globalStep;
  const t0 = performance.now();
  timed.takeMs(); // the start-up broadcast is not part of any step
  let stepStart = performance.now();
  let ips = 0;

  const request = (epoch: number, step: number): BatchRequest => ({
    epoch,
    indices: shardIndices(epochOrder(train.size, epoch, cfg.runtime.seed), step, globalBatch, rank, world),
  });
  const save = async (p: Position, info: Record<string, unknown>) => {
    if (rank !== 0) return;
    lastCheckpoint = await saveCheckpoint(
      storage,
      await captureCheckpoint(st, cfg, p, info),
      cfg.checkpoint.keepLast,
    );
    log.info({ checkpoint: lastCheckpoint, globalStep: p.globalStep }, 'checkpoint written');
  };

  const summarize = (globalStep: number, epochs: number): TrainSummary => ({
    globalStep,
    epochs,
    final,
    lastCheckpoint,
    resumedFrom,
    stepsRun: globalStep - startStep,
    knn,
    imagesPerSec: ips,
    loaderWaitMs: loader.waitMs,
    state: st,
  });

  try {
    for (let epoch = pos.epoch; epoch < cfg.optim.epochs; epoch++) {
      const lambda =
        cfg.jcl.method === 'mocov2'
          ? 0
          : lambdaAt(epoch, {
              lambda: cfg.jcl.lambda,
              epochs: cfg.optim.epochs,
              schedule: cfg.jcl.lambdaSchedule,
            });
      const order = epochOrder(train.size, epoch, cfg.runtime.seed);
      let epochMs = 0;
      let epochCommMs = 0;
      for (let step = epoch === pos.epoch ? pos.stepInEpoch : 0; step < steps; step++) {
        const upcoming: BatchRequest[] = [];
        for (let a = 1; a <= cfg.data.prefetchBatches; a++) {
          const s = step + a;
          upcoming.push(
            s < steps
              ? { epoch, indices: shardIndices(order, s, globalBatch, rank, world) }
              : request(epoch + 1, s - steps),
          );
        }
        const batch = await loader.next(
          { epoch, indices: shardIndices(order, step, globalBatch, rank, world) },
          upcoming,
        );
        const lr = learningRateAt(epoch + step / steps, {
          lr: cfg.optim.lr,
          epochs: cfg.optim.epochs,
          warmupEpochs: cfg.optim.warmupEpochs,
          schedule: cfg.optim.lrSchedule,
        });
        const metrics = await runTrainStep(st, batch, {
          lr,
          ratio: lambda,
          tau: cfg.jcl.temperature,
          keyMomentum: cfg.jcl.keyMomentum,
        });
        if (!Number.isFinite(metrics.loss)) {
          throw new JclError(
            'internal',
            `loss became ${metrics.loss} at epoch ${epoch} step ${step}: lower optim.lr (got ${cfg.optim.lr}) or check the data`,
          );
        }
        final = metrics;
        const globalStep = epoch * steps + step + 1;
        const now = performance.now();
        const stepMs = now - stepStart;
        ips = (globalBatch * 1000) / stepMs;
        stepStart = now;
        const avgSec = (now - t0) / 1000 / (globalStep - startStep);
        const event: ProgressEvent = {
          ...metrics,
          epoch,
          epochs: cfg.optim.epochs,
          step: step + 1,
          stepsPerEpoch: steps,
          globalStep,
          totalSteps,
          lr,
          lambda,
          imagesPerSec: ips,
          etaSec: avgSec * (totalSteps - globalStep),
          stepMs,
          commMs: timed.takeMs(),
        };
        epochMs += event.stepMs;
        epochCommMs += event.commMs;
        deps.onProgress?.(event);
        appendFileSync(
          metricsPath,
          JSON.stringify({ type: 'step', time: new Date().toISOString(), ...event }) + '\n',
        );
        log.debug(event, 'step');
        deps.onStatus?.({
          phase: 'Training',
          epoch,
          step: step + 1,
          globalStep,
          loss: metrics.loss,
          lossCls: metrics.lossCls,
          lossJcl: metrics.lossJcl,
          contrastAcc: metrics.contrastAcc,
          imagesPerSec: ips,
          lastCheckpoint,
          worldSize: world,
        });

        const next: Position =
          step + 1 < steps
            ? { epoch, stepInEpoch: step + 1, globalStep }
            : { epoch: epoch + 1, stepInEpoch: 0, globalStep };
        const epochEnd = step + 1 === steps;
        const everySteps = cfg.checkpoint.everySteps > 0 && globalStep % cfg.checkpoint.everySteps === 0;
        const everyEpochs =
          epochEnd && cfg.checkpoint.everyEpochs > 0 && (epoch + 1) % cfg.checkpoint.everyEpochs === 0;
        const last = epochEnd && epoch + 1 === cfg.optim.epochs;
        if (everySteps || everyEpochs || last)
          await save(next, { loss: metrics.loss, worldSize: world, final: metrics });
        if (deps.stopAfterGlobalStep !== undefined && globalStep >= deps.stopAfterGlobalStep) {
          log.warn({ globalStep }, 'stopping early as requested');
          return summarize(globalStep, epoch);
        }
      }
      if (world > 1) {
        // Every rank enqueues the same all-gathered key means, so the queues must be bit-identical;
        // a difference means a lost or reordered message, and training must not go on silently.
        await verifyIdenticalAcrossRanks(
          collective,
          (await st.queue.read()).data,
          `key queue after epoch ${epoch + 1}`,
        );
      }
      log.info(
        {
          epoch: epoch + 1,
          epochs: cfg.optim.epochs,
          loss: final?.loss,
          contrastAcc: final?.contrastAcc,
          imagesPerSec: Number(ips.toFixed(2)),
          // this process's peak resident set so far (the memory a worker pod needs)
          peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
          // share of step wall time spent in collectives (gradients, shuffle-BN, key gathering)
          commShare: epochMs > 0 ? Number((epochCommMs / epochMs).toFixed(3)) : 0,
        },
        'epoch done',
      );
      const monitor = cfg.eval.knnEveryEpochs > 0 && (epoch + 1) % cfg.eval.knnEveryEpochs === 0;
      if (deps.test && (monitor || epoch + 1 === cfg.optim.epochs)) {
        // Every rank evaluates (weights are identical), so no rank sits inside a collective, against
        // its peer timeout, while rank 0 alone computes; only rank 0 records the result.
        knn = await evaluateKnn(st, cfg, train, deps.test);
        // BN running statistics are per rank, so the ranks' backbones (and answers) differ slightly;
        // rank 0's is the checkpointed one: every rank adopts its result, the run has one k-NN answer.
        if (world > 1) knn = await agreeOnRankZero(collective, knn);
        if (rank === 0) {
          appendFileSync(
            metricsPath,
            JSON.stringify({ type: 'knn', time: new Date().toISOString(), epoch: epoch + 1, ...knn }) + '\n',
          );
          log.info({ epoch: epoch + 1, top1: knn.top1, top5: knn.top5 }, 'k-NN monitor');
        }
      }
    }
  } catch (err) {
    disposeTrainState(st);
    throw err;
  } finally {
    await loader.close();
  }
  return summarize(steps * cfg.optim.epochs, cfg.optim.epochs);
}

/** k-NN accuracy of the query backbone (BN in inference mode) on the held-out split. */
export async function evaluateKnn(
  st: StepState,
  cfg: TrainingConfig,
  train: ImageDataset,
  test: ImageDataset,
  limit = 5000,
): Promise<KnnResult> {
  const size = cfg.data.imageSize;
  const bank = await extractFeatures(st.query, train, { size, limit });
  const probe = await extractFeatures(st.query, test, { size, limit: Math.min(limit, 2000) });
  return knnClassify(bank, probe, {
    dim: bank.dim,
    numClasses: train.numClasses,
    k: cfg.eval.knnK,
    temperature: cfg.eval.knnTemperature,
  });
}

/** Every rank returns rank 0's value (a JSON broadcast). */
async function agreeOnRankZero<T>(collective: Collective, value: T): Promise<T> {
  const bytes = collective.rank === 0 ? new TextEncoder().encode(JSON.stringify(value)) : null;
  return JSON.parse(new TextDecoder().decode(await collective.broadcast(bytes, 0))) as T;
}
