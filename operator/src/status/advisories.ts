/**
 * Conditions that warn about what the spec means rather than what the pods do (pure): checkpoints that
 * cannot survive a restart, and spec.template edits the running workers have not picked up yet. Each is
 * announced once by an Event when it turns True.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { ANNOTATION_TEMPLATE_HASH } from '../api/constants.ts';
import type { Condition, ConditionType, JCLTrainingJob } from '../api/status-schema.ts';
import { templateHash } from '../desired/worker-pod.ts';
import { podGeneration } from './observe-pods.ts';

export interface Advisory {
  type: ConditionType;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** CheckpointsEphemeral: a checkpoint policy without spec.checkpoints.claimName. */
export function checkpointAdvisory(job: JCLTrainingJob): Advisory | undefined {
  const c = job.spec.checkpoints;
  const checkpointing = (c.everyEpochs ?? 0) > 0 || (c.everySteps ?? 0) > 0;
  if (c.claimName || !checkpointing) return undefined;
  return {
    type: 'CheckpointsEphemeral',
    status: 'True',
    reason: 'NoCheckpointClaim',
    message:
      'spec.checkpoints has no claimName: checkpoints go to per-pod emptyDirs, so a gang restart or a resume ' +
      'after suspend begins again from epoch 0; set spec.checkpoints.claimName to a ReadWriteMany PVC (in a new job)',
  };
}

/**
 * SpecChangePending: the current gang's pods were built from another spec.template. Such a change applies
 * to pods created from now on, i.e. at the next gang restart or resume; the running workers keep theirs.
 */
export function templateAdvisory(
  job: JCLTrainingJob,
  workerPods: readonly V1Pod[],
  generation: number,
  previous: readonly Condition[],
): Advisory | undefined {
  const want = templateHash(job);
  const outdated = workerPods.filter((p) => {
    const had = p.metadata?.annotations?.[ANNOTATION_TEMPLATE_HASH];
    return podGeneration(p) === generation && had !== undefined && had !== want;
  });
  if (outdated.length > 0)
    return {
      type: 'SpecChangePending',
      status: 'True',
      reason: 'TemplateChanged',
      message:
        `spec.template changed (generation ${job.metadata?.generation ?? '?'}) after ${outdated.length} running ` +
        'workers were created: they keep the template they started with; the change applies when the workers ' +
        'are next created (suspend and resume, or a gang restart)',
    };
  if (previous.some((c) => c.type === 'SpecChangePending' && c.status === 'True'))
    return {
      type: 'SpecChangePending',
      status: 'False',
      reason: 'TemplateApplied',
      message: 'every worker runs the current spec.template',
    };
  return undefined;
}
