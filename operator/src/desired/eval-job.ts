/**
 * Evaluation follow-ups (spec.evaluation[i]) as batch/v1 Jobs, created after the training Succeeded:
 *   <command> eval <kind> --checkpoint <run dir | checkpoint URI> [--s3-* ...] [--<flag> <value> ...]
 * with the typed params turned into `jcl eval` flags by the table they are declared in
 * (worker/src/eval/eval-params.ts: {weightDecay: 0.1, cacheFeatures: true, milestones: [60, 80]} →
 * --weight-decay 0.1 --cache-features --milestones 60,80).
 * `jcl eval` reads the training config saved in the checkpoint and writes its JSON result to the
 * termination message, which computeStatus copies into status.evaluation. backoffLimit 0: a failed
 * evaluation is reported, not retried. The pod carries what spec.template gives a worker pod (scheduling,
 * security context, resources, env, envFrom, volumes, labels, annotations, init containers and sidecars);
 * only the worker's own parts stay out: the job token, the ports, the hostname and the gang scheduling.
 */
import type { V1Job } from '@kubernetes/client-node';
import {
  CHECKPOINT_MOUNT_PATH,
  CONFIG_KEY_RESTART,
  CONFIG_MOUNT_PATH,
  LABEL_EVAL_KIND,
} from '../api/constants.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import { jobLabels, ownedMetadata } from './labels.ts';
import { evalJobName, runDir } from './names.ts';
import type { BuildOptions } from './options.ts';
import { paramsToFlags } from '../../../worker/src/eval/eval-params.ts';
import {
  baseContainer,
  basePodSpec,
  checkpointCredentialsEnv,
  jclVolumes,
  podMetadata,
} from './pod-parts.ts';
import { checkpointUri, datasetPath } from './training-config.ts';
import { templateInitContainers, withInitContainers } from './template-containers.ts';

export function buildEvalJob(job: JCLTrainingJob, index: number, opts: BuildOptions): V1Job {
  const name = job.metadata?.name ?? '';
  const follow = job.spec.evaluation[index];
  if (!follow)
    throw new Error(
      `spec.evaluation[${index}]: no such evaluation, the job has ${job.spec.evaluation.length}`,
    );
  const labels = { ...jobLabels(job, 'eval'), [LABEL_EVAL_KIND]: follow.kind };
  const dir = runDir(CHECKPOINT_MOUNT_PATH, name);
  // With object storage the follow-up reads the final checkpoint from the job's URI (issue 18).
  const uri = checkpointUri(job);
  const s3 = job.spec.checkpoints.s3 ?? {};
  const from = uri
    ? [
        '--checkpoint',
        uri,
        ...(s3.endpoint ? ['--s3-endpoint', s3.endpoint] : []),
        ...(s3.region ? ['--s3-region', s3.region] : []),
        ...(s3.pathStyle ? ['--s3-path-style'] : []),
      ]
    : ['--checkpoint', dir];
  const configFile = `${CONFIG_MOUNT_PATH}/${CONFIG_KEY_RESTART}`;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: ownedMetadata(job, evalJobName(name, index), 'eval', { [LABEL_EVAL_KIND]: follow.kind }),
    spec: {
      backoffLimit: 0,
      template: {
        metadata: podMetadata(job, labels),
        spec: {
          ...basePodSpec(job, opts),
          containers: [
            {
              ...baseContainer(job, opts, false),
              name: 'eval',
              command: [...(job.spec.template.command ?? opts.workerCommand), 'eval', follow.kind],
              args: [
                ...from,
                // The dataset where this pod mounts it (the checkpoint records where training read it).
                ...(datasetPath(job) ? ['--data-path', datasetPath(job)] : []),
                ...paramsToFlags(follow.kind, follow.params ?? {}, `spec.evaluation[${index}].params`),
              ],
              env: [
                ...(job.spec.template.env ?? []),
                { name: 'JCL_CONFIG_FILE', value: configFile },
                { name: 'JCL_RUN_DIR', value: dir },
                ...checkpointCredentialsEnv(job),
              ],
            },
          ],
          ...withInitContainers(templateInitContainers(job)),
          volumes: jclVolumes(job, false),
        },
      },
    },
  };
}
