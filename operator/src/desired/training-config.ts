/**
 * spec → the TrainingConfig the workers read (the ConfigMap's JSON). Data location and checkpointing come
 * from spec.dataset and spec.checkpoints only: the matching spec.training fields (TRAINING_OVERLAPS) are
 * refused here as the CRD's CEL rules refuse them at admission; the run directory is the job's own
 * directory on the checkpoint volume. Validation is the worker's own parseTrainingConfig, so a spec the operator accepts
 * is a config the worker accepts (and a rejected one fails the job at once, like exit code 64 would).
 */
import { parseTrainingConfig } from '../../../worker/src/config/parse-config.ts';
import type { TrainingConfig } from '../../../worker/src/config/schema.ts';
import { JclError } from '../../../worker/src/util/errors.ts';
import { CHECKPOINT_MOUNT_PATH } from '../api/constants.ts';
import { TRAINING_OVERLAPS } from '../api/job-schema.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import { runDir } from './names.ts';
import { worldSize } from './procs.ts';

/** Where the dataset is inside the pod: absolute paths are kept, relative ones live under mountPath. */
export function datasetPath(job: JCLTrainingJob): string {
  const { path, mountPath } = job.spec.dataset;
  if (path === '' || path.startsWith('/')) return path;
  return `${mountPath.replace(/\/$/, '')}/${path}`;
}

/** checkpoints.resumeFrom: an absolute path as is, else the run directory of that earlier job. */
export function resumePath(job: JCLTrainingJob): string {
  const from = job.spec.checkpoints.resumeFrom;
  if (from === '' || from.startsWith('/')) return from;
  return runDir(CHECKPOINT_MOUNT_PATH, from);
}

/**
 * The validated config. `restart` = a gang restart: resume from this job's own latest checkpoint (an
 * empty resumeFrom), never again from checkpoints.resumeFrom. Throws JclError('invalid_config') listing
 * every problem with its spec.training.* path.
 */
export function buildTrainingConfig(job: JCLTrainingJob, restart: boolean): TrainingConfig {
  const name = job.metadata?.name ?? '';
  const t = structuredClone(job.spec.training ?? {}) as Record<string, Record<string, unknown>>;
  const overlaps = overlapProblems(t);
  if (overlaps.length > 0)
    throw new JclError('invalid_config', `invalid training configuration:\n  ${overlaps.join('\n  ')}`, {
      details: overlaps,
    });
  t.data = { ...(t.data ?? {}), format: job.spec.dataset.format, path: datasetPath(job) };
  const ck = job.spec.checkpoints;
  t.checkpoint = {
    ...(t.checkpoint ?? {}),
    everyEpochs: ck.everyEpochs,
    everySteps: ck.everySteps,
    keepLast: ck.keepLast,
    resumeFrom: restart ? '' : resumePath(job),
  };
  t.runtime = { ...(t.runtime ?? {}), outDir: runDir(CHECKPOINT_MOUNT_PATH, name) };
  return parseTrainingConfig(t, { worldSize: worldSize(job), fieldPrefix: 'spec.training.' });
}

/** The spec.training fields the job spec owns elsewhere, each with the field to use instead. */
export function overlapProblems(training: Record<string, Record<string, unknown> | undefined>): string[] {
  return Object.entries(TRAINING_OVERLAPS).flatMap(([section, fields]) =>
    Object.entries(fields)
      .filter(([key]) => training[section]?.[key] !== undefined)
      .map(
        ([key, use]) =>
          `spec.training.${section}.${key}: not accepted in a JCLTrainingJob, set ${use} instead, got ${JSON.stringify(training[section]?.[key])}`,
      ),
  );
}
