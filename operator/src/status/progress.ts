/**
 * status.progress from rank 0's reports (pure). A report that changes no value a user sees leaves the
 * progress, updateTime included, exactly as it was, so a steady job causes no status write; a report that
 * is behind what was already shown (a restarted gang still rendezvousing at step 0) never moves it back.
 */
import type { JobStatus } from '../api/status-schema.ts';
import type { ProgressReport } from './observed.ts';

export type Progress = NonNullable<JobStatus['progress']>;

/** The user-visible values of a report (non-finite numbers dropped). */
export function progressFields(p: ProgressReport): Progress {
  const out: Progress = {};
  if (p.epoch !== undefined) out.epoch = p.epoch;
  if (p.step !== undefined) out.step = p.step;
  if (p.loss !== undefined && Number.isFinite(p.loss)) out.loss = p.loss;
  if (p.imagesPerSec !== undefined && Number.isFinite(p.imagesPerSec)) out.imagesPerSec = p.imagesPerSec;
  if (p.lastCheckpoint !== undefined) out.lastCheckpoint = p.lastCheckpoint;
  return out;
}

const VALUE_KEYS = ['epoch', 'step', 'loss', 'imagesPerSec', 'lastCheckpoint'] as const;

/** Whether two progress values differ in anything but updateTime. */
export function progressChanged(a: Progress | undefined, b: Progress | undefined): boolean {
  return VALUE_KEYS.some((k) => a?.[k] !== b?.[k]);
}

/**
 * The next status.progress: `prev` when there is no report, when the report is behind `prev` (lower step)
 * and names no later checkpoint, or when it changes no value; otherwise the report's values stamped with
 * `nowIso`. lastCheckpoint is the later of the one shown and the one reported (newerCheckpoint).
 */
export function nextProgress(
  prev: Progress | undefined,
  report: ProgressReport | undefined,
  nowIso: string,
): Progress | undefined {
  if (!report) return prev;
  const fields = progressFields(report);
  const checkpoint = newerCheckpoint(prev?.lastCheckpoint, fields.lastCheckpoint);
  if (prev?.step !== undefined && (fields.step === undefined || fields.step < prev.step)) {
    // Behind on steps, yet possibly ahead on checkpoints: rank 0 may write one after the last poll and be
    // stopped (suspend, a killed peer) before the next; the new gang resumes from it at a step below the
    // one shown. The steps stay; the checkpoint it resumed from is shown at once (issue 20 item 6).
    return checkpoint === prev.lastCheckpoint
      ? prev
      : { ...prev, lastCheckpoint: checkpoint, updateTime: nowIso };
  }
  if (checkpoint === undefined) delete fields.lastCheckpoint;
  else fields.lastCheckpoint = checkpoint;
  if (prev && !progressChanged(prev, fields)) return prev;
  return { ...fields, updateTime: nowIso };
}

/** The global step in a checkpoint's name (`.../ckpt-00000080.jclckpt` → 80), or undefined. */
export function checkpointStep(name: string | undefined): number | undefined {
  const m = name === undefined ? null : /ckpt-(\d+)(?:\.jclckpt)?$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * The checkpoint to show of the one shown and the one reported: the later by global step, so that
 * status.progress.lastCheckpoint never goes back; the reported one when either name carries no step.
 */
export function newerCheckpoint(shown: string | undefined, reported: string | undefined): string | undefined {
  if (reported === undefined) return shown;
  const a = checkpointStep(shown);
  const b = checkpointStep(reported);
  return a !== undefined && b !== undefined && a > b ? shown : reported;
}
