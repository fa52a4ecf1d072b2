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
 * The next status.progress: `prev` when there is no report, when the report is behind `prev` (lower step),
 * or when it changes no value; otherwise the report's values stamped with `nowIso`. A report without a
 * checkpoint keeps the last one shown.
 */
export function nextProgress(
  prev: Progress | undefined,
  report: ProgressReport | undefined,
  nowIso: string,
): Progress | undefined {
  if (!report) return prev;
  const fields = progressFields(report);
  if (prev?.step !== undefined && (fields.step === undefined || fields.step < prev.step)) return prev;
  if (fields.lastCheckpoint === undefined && prev?.lastCheckpoint !== undefined)
    fields.lastCheckpoint = prev.lastCheckpoint;
  if (prev && !progressChanged(prev, fields)) return prev;
  return { ...fields, updateTime: nowIso };
}
