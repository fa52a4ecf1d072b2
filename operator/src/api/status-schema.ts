/**
 * JCLTrainingJob status: written only by the operator through the status subresource (one write per
 * reconcile). Conditions follow the metav1.Condition shape so kubectl wait --for=condition=Succeeded works.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { JobSpec } from './job-schema.ts';

export const PHASES = ['Pending', 'Running', 'Restarting', 'Succeeded', 'Failed', 'Suspended'] as const;
export const CONDITION_TYPES = [
  'Created',
  'Running',
  'Restarting',
  'Succeeded',
  'Failed',
  'Suspended',
  /** True while a child object (Service, pod, ...) cannot be created; the message is the apiserver's. */
  'CreateFailed',
  /** True when spec.checkpoints has no claimName: checkpoints live in per-pod emptyDirs. */
  'CheckpointsEphemeral',
  /** True while a spec change has not reached the running workers yet (the message says when it will). */
  'SpecChangePending',
  /** The evaluation follow-ups: Unknown while they run, True when all succeeded, False when one failed. */
  'Evaluated',
  /** True while workers of the current gang cannot be placed (reason and message from the scheduler). */
  'Unschedulable',
] as const;

const Time = (description: string) => Type.String({ format: 'date-time', description });

export const ConditionSchema = Type.Object(
  {
    type: Type.Union(
      CONDITION_TYPES.map((t) => Type.Literal(t)),
      { description: 'Condition type.' },
    ),
    status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')], {
      description: 'True, False or Unknown.',
    }),
    reason: Type.String({ maxLength: 1024, description: 'CamelCase reason for the last transition.' }),
    message: Type.String({ maxLength: 32768, description: 'What happened, and what to do next.' }),
    lastTransitionTime: Time('When the status last changed.'),
  },
  { description: 'A metav1.Condition.' },
);

export const ProgressSchema = Type.Object(
  {
    epoch: Type.Optional(
      Type.Integer({ description: 'The epoch in progress, counted from 1 (the last one once finished).' }),
    ),
    step: Type.Optional(Type.Integer({ description: 'Global step; never goes back across gang restarts.' })),
    loss: Type.Optional(Type.Number({ description: 'Loss of the last step.' })),
    imagesPerSec: Type.Optional(Type.Number({ description: 'Training throughput of the gang.' })),
    lastCheckpoint: Type.Optional(Type.String({ description: 'Path of the newest checkpoint.' })),
    updateTime: Type.Optional(Time('When rank 0 was last polled.')),
  },
  { description: "Training progress polled from rank 0's status endpoint." },
);

export const EvaluationResultSchema = Type.Object(
  {
    kind: Type.String({ description: 'Evaluation kind (spec.evaluation[].kind).' }),
    phase: Type.Union(
      [Type.Literal('Pending'), Type.Literal('Running'), Type.Literal('Succeeded'), Type.Literal('Failed')],
      { description: 'Phase of the evaluation Job.' },
    ),
    jobName: Type.String({ description: 'Name of the evaluation batch Job.' }),
    message: Type.Optional(Type.String({ description: 'Why it failed, when it did.' })),
    /** When the follow-up finished (ttlSecondsAfterFinished counts from the last of these). */
    completionTime: Type.Optional(Time('When the follow-up finished.')),
    result: Type.Optional(
      Type.Unsafe<Record<string, unknown>>({
        type: 'object',
        'x-kubernetes-preserve-unknown-fields': true,
        description: 'The JSON line `jcl eval` printed (kind, metric, value, ...).',
      }),
    ),
  },
  { description: 'One evaluation follow-up.' },
);

export const JobStatusSchema = Type.Object(
  {
    phase: Type.Optional(
      Type.Union(
        PHASES.map((p) => Type.Literal(p)),
        { description: 'Where the job is in its lifecycle.' },
      ),
    ),
    message: Type.Optional(Type.String({ description: 'A human-readable summary of the phase.' })),
    conditions: Type.Optional(
      Type.Array(ConditionSchema, { description: 'Latest observations of the job.' }),
    ),
    startTime: Type.Optional(Time('When the operator first created the workers.')),
    completionTime: Type.Optional(Time('When the training succeeded or failed.')),
    workers: Type.Optional(Type.Integer({ description: 'Worker pods that exist.' })),
    workersReady: Type.Optional(
      Type.Integer({
        description:
          'Ready worker pods of the current gang generation; 0 while Suspended, Succeeded or Failed (no gang runs).',
      }),
    ),
    /** "ready/total", for the printer column (printer columns cannot compute). */
    ready: Type.Optional(
      Type.String({
        description: '"workersReady/workers" (the Ready printer column), consistent with the phase.',
      }),
    ),
    restarts: Type.Optional(
      Type.Integer({ description: 'Gang restarts so far (at most runPolicy.backoffLimit).' }),
    ),
    restartGeneration: Type.Optional(
      Type.Integer({ description: 'Generation of the current gang (the restart-generation pod label).' }),
    ),
    observedGeneration: Type.Optional(
      Type.Integer({ description: 'metadata.generation this status was computed for.' }),
    ),
    progress: Type.Optional(ProgressSchema),
    evaluation: Type.Optional(
      Type.Object(
        {
          /** Best top-1 accuracy among the finished follow-ups (the Top1 printer column). */
          top1: Type.Optional(
            Type.Number({
              description: 'Best top-1 among the finished follow-ups (the Top1 printer column).',
            }),
          ),
          results: Type.Array(EvaluationResultSchema, { description: 'One entry per spec.evaluation item.' }),
        },
        { description: 'Results of the evaluation follow-ups.' },
      ),
    ),
  },
  { description: 'Observed state, written by the operator only.' },
);

export type Phase = (typeof PHASES)[number];
export type ConditionType = (typeof CONDITION_TYPES)[number];
export type Condition = Static<typeof ConditionSchema>;
export type Progress = Static<typeof ProgressSchema>;
export type EvaluationResult = Static<typeof EvaluationResultSchema>;
export type JobStatus = Static<typeof JobStatusSchema>;

/** A JCLTrainingJob as read from the apiserver (defaults applied by the CRD schema). */
export interface JCLTrainingJob extends KubernetesObject {
  spec: JobSpec;
  status?: JobStatus;
}
