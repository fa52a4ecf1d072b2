/**
 * The I/O side of resuming: find the checkpoint a run continues from (checkpoint.resumeFrom, else the run
 * directory's newest intact one) and decide, before anything is written, whether this config may
 * continue it (resume-check.ts). Called by `jcl train` before it creates the run directory and by
 * runJob before training.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { JclError } from '../util/errors.ts';
import type { TrainingConfig } from '../config/schema.ts';
import type { Checkpoint } from './checkpoint-format.ts';
import { loadLatestCheckpoint } from './checkpoint-store.ts';
import { decideResume, type ResumeDecision } from './resume-check.ts';

export interface ResumePoint {
  path: string;
  ckpt: Checkpoint;
  decision: ResumeDecision;
}

/** null: nothing to resume (a fresh run). Throws resume_mismatch / checkpoint_corrupt (both permanent). */
export function openResume(
  cfg: TrainingConfig,
  runDir: string,
  warn: (msg: string, path: string) => void,
): ResumePoint | null {
  if (existsSync(runDir) && !statSync(runDir).isDirectory())
    throw new JclError(
      'invalid_config',
      `runtime.outDir (--out): expected a directory (new or existing), got the file ${JSON.stringify(runDir)}`,
    );
  const from = cfg.checkpoint.resumeFrom || join(runDir, 'checkpoints');
  const found = loadLatestCheckpoint(from, warn);
  if (!found) return null;
  const { epoch, stepInEpoch, globalStep } = found.ckpt.header;
  const decision = decideResume(
    found.ckpt.header.config,
    { epoch, stepInEpoch, globalStep },
    cfg,
    found.path,
  );
  return { ...found, decision };
}
