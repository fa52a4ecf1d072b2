/**
 * The I/O side of resuming: find the checkpoint a run continues from (checkpoint.resumeFrom, else the
 * newest intact one of the run's own checkpoint storage: checkpoint.uri or <runDir>/checkpoints) and
 * decide, before anything is written, whether this config may continue it (resume-check.ts). Called by
 * `jcl train` before it creates the run directory and by runJob and the trainer (rank 0) before training.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { JclError } from '../util/errors.ts';
import type { TrainingConfig } from '../config/schema.ts';
import type { Checkpoint } from './checkpoint-format.ts';
import type { CheckpointStorage } from './checkpoint-storage.ts';
import {
  loadLatestCheckpoint,
  openCheckpointRef,
  openRunCheckpoints,
  type Warn,
} from './checkpoint-store.ts';
import { decideResume, type ResumeDecision } from './resume-check.ts';

export interface ResumePoint {
  /** The checkpoint's path or URI. */
  path: string;
  ckpt: Checkpoint;
  decision: ResumeDecision;
}

/**
 * null: nothing to resume (a fresh run). Throws resume_mismatch / checkpoint_corrupt (both permanent),
 * not_found when checkpoint.resumeFrom names nothing, and the storage's own start-up error (missing
 * bucket, rejected credentials) before reading anything. `storage` is the run's own checkpoint storage
 * when the caller has it open already (the trainer); by default it is opened from cfg.
 */
export async function openResume(
  cfg: TrainingConfig,
  runDir: string,
  warn: Warn,
  storage?: CheckpointStorage,
): Promise<ResumePoint | null> {
  if (existsSync(runDir) && !statSync(runDir).isDirectory())
    throw new JclError(
      'invalid_config',
      `runtime.outDir (--out): expected a directory (new or existing), got the file ${JSON.stringify(runDir)}`,
    );
  const { resumeFrom } = cfg.checkpoint;
  const source = resumeFrom
    ? openCheckpointRef(resumeFrom, cfg.checkpoint.s3, 'checkpoint.resumeFrom')
    : { storage: storage ?? openRunCheckpoints(cfg.checkpoint, join(runDir, 'checkpoints')) };
  await source.storage.check(false);
  const found = await loadLatestCheckpoint(source.storage, warn, source.only);
  if (!found) {
    if (resumeFrom) throw new JclError('not_found', `checkpoint.resumeFrom: no checkpoint in ${resumeFrom}`);
    return null;
  }
  const { epoch, stepInEpoch, globalStep } = found.ckpt.header;
  const decision = decideResume(
    found.ckpt.header.config,
    { epoch, stepInEpoch, globalStep },
    cfg,
    found.path,
  );
  return { ...found, decision };
}
