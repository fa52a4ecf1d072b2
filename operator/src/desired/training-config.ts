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

/**
 * Where job `jobName` of the job's namespace keeps its checkpoints under spec.checkpoints.uri:
 * <uri>/<namespace>/<job> (the namespace keeps two teams' same-named jobs apart in a shared bucket);
 * "" without a uri.
 */
export function checkpointUri(job: JCLTrainingJob, jobName = job.metadata?.name ?? ''): string {
  const { uri } = job.spec.checkpoints;
  if (!uri) return '';
  return `${uri.replace(/\/+$/, '')}/${job.metadata?.namespace ?? 'default'}/${jobName}`;
}

/**
 * checkpoints.resumeFrom: an absolute path or an s3:// URI as is, else that earlier job's checkpoints
 * (under the same uri when the job has one, else its run directory on the claim).
 */
export function resumePath(job: JCLTrainingJob): string {
  const from = job.spec.checkpoints.resumeFrom;
  if (from === '' || from.startsWith('/') || from.startsWith('s3://')) return from;
  if (job.spec.checkpoints.uri) return checkpointUri(job, from);
  return runDir(CHECKPOINT_MOUNT_PATH, from);
}

/**
 * spec.checkpoints.s3 as the worker's checkpoint.s3 (what is left out takes the worker's default); the
 * Secret's name stays in the pod spec (credentials env), never in the config.
 */
export function s3Options(job: JCLTrainingJob): Record<string, unknown> {
  const { credentialsSecret: _secret, ...s3 } = job.spec.checkpoints.s3 ?? {};
  void _secret;
  return Object.fromEntries(Object.entries(s3).filter(([, v]) => v !== undefined && v !== ''));
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
    uri: checkpointUri(job),
    s3: s3Options(job),
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
