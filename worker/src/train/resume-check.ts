/**
 * Pure decision for a run directory that already holds a checkpoint (issue 19: runs that are safe to
 * repeat). Compares the config saved in the checkpoint with the one asked for:
 *   1. a field that shapes the parameters, the queue or the data order differs -> the checkpoint cannot
 *      be continued: JclError('resume_mismatch') (exit 64, permanent), thrown before anything is written;
 *   2. the checkpoint sits at or past the requested epochs -> `complete` (nothing to train);
 *   3. else `continue`, listing the other fields that changed (more epochs, a new learning rate, ...).
 */
import type { TrainingConfig } from '../config/schema.ts';
import { JclError } from '../util/errors.ts';
import type { Position } from './train-state.ts';

/**
 * Fields a checkpoint cannot continue under a different value: the model's parameter shapes, the
 * method and its positives (the loss), the queue, and what fixes steps per epoch (global batch, cap).
 */
export const INCOMPATIBLE_FIELDS = Object.freeze([
  'model.arch',
  'model.embedDim',
  'model.headHidden',
  'model.headBatchNorm',
  'jcl.method',
  'jcl.positives',
  'jcl.queueSize',
  'optim.batchSize',
  'optim.stepsPerEpoch',
] as const);

/** Fields that name places or logging, not the training: a change there is not worth a word. */
const IGNORED_FIELDS = new Set(['runtime.outDir', 'runtime.logLevel', 'checkpoint.resumeFrom']);

export type ResumeDecision =
  { kind: 'continue'; changes: string[] } | { kind: 'complete'; changes: string[] };

/** `saved` is the checkpoint header's config; `source` names the checkpoint in the error. */
export function decideResume(
  saved: unknown,
  pos: Position,
  cfg: TrainingConfig,
  source: string,
): ResumeDecision {
  const before = flatten(saved);
  const after = flatten(cfg);
  const mismatches = INCOMPATIBLE_FIELDS.filter((f) => f in before && before[f] !== after[f]);
  if (mismatches.length > 0) {
    throw new JclError(
      'resume_mismatch',
      `${source} was trained with a different ${mismatches.join(', ')}: ` +
        mismatches.map((f) => `${f}: checkpoint ${show(before[f])}, got ${show(after[f])}`).join('; ') +
        '. Nothing was changed; train into a new run directory (--out DIR, or a new job) or use the same values.',
    );
  }
  const changes = Object.keys(after)
    .filter((f) => f in before && before[f] !== after[f] && !IGNORED_FIELDS.has(f))
    .map((f) => `${f}: ${show(before[f])} -> ${show(after[f])}`);
  const done = pos.epoch >= cfg.optim.epochs;
  if (pos.epoch > cfg.optim.epochs || (done && pos.stepInEpoch > 0)) {
    throw new JclError(
      'resume_mismatch',
      `optim.epochs: ${source} has already trained ${pos.epoch} epochs, got ${cfg.optim.epochs}. Nothing was ` +
        `changed; ask for ${pos.epoch} (the finished run) or more epochs, or train into a new run directory (--out DIR).`,
    );
  }
  return { kind: done ? 'complete' : 'continue', changes };
}

/** {a: {b: 1}} -> {'a.b': 1}; arrays and scalars are leaves (compared as JSON). */
function flatten(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    if (prefix !== '') out[prefix] = Array.isArray(value) ? JSON.stringify(value) : value;
    return out;
  }
  for (const [k, v] of Object.entries(value)) flatten(v, prefix === '' ? k : `${prefix}.${k}`, out);
  return out;
}

function show(v: unknown): string {
  return JSON.stringify(v);
}
