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
] as const;

const Time = Type.String({ format: 'date-time' });

export const ConditionSchema = Type.Object({
  type: Type.Union(CONDITION_TYPES.map((t) => Type.Literal(t))),
  status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
  reason: Type.String({ maxLength: 1024 }),
  message: Type.String({ maxLength: 32768 }),
  lastTransitionTime: Time,
});

export const ProgressSchema = Type.Object({
  epoch: Type.Optional(Type.Integer()),
  step: Type.Optional(Type.Integer()),
  loss: Type.Optional(Type.Number()),
  imagesPerSec: Type.Optional(Type.Number()),
  lastCheckpoint: Type.Optional(Type.String()),
  updateTime: Type.Optional(Time),
});

export const EvaluationResultSchema = Type.Object({
  kind: Type.String(),
  phase: Type.Union([
    Type.Literal('Pending'),
    Type.Literal('Running'),
    Type.Literal('Succeeded'),
    Type.Literal('Failed'),
  ]),
  jobName: Type.String(),
  message: Type.Optional(Type.String()),
  /** When the follow-up finished (ttlSecondsAfterFinished counts from the last of these). */
  completionTime: Type.Optional(Time),
  result: Type.Optional(
    Type.Unsafe<Record<string, unknown>>({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }),
  ),
});

export const JobStatusSchema = Type.Object({
  phase: Type.Optional(Type.Union(PHASES.map((p) => Type.Literal(p)))),
  message: Type.Optional(Type.String()),
  conditions: Type.Optional(Type.Array(ConditionSchema)),
  startTime: Type.Optional(Time),
  completionTime: Type.Optional(Time),
  workers: Type.Optional(Type.Integer()),
  workersReady: Type.Optional(Type.Integer()),
  /** "ready/total", for the printer column (printer columns cannot compute). */
  ready: Type.Optional(Type.String()),
  restarts: Type.Optional(Type.Integer()),
  restartGeneration: Type.Optional(Type.Integer()),
  observedGeneration: Type.Optional(Type.Integer()),
  progress: Type.Optional(ProgressSchema),
  evaluation: Type.Optional(
    Type.Object({
      /** Best top-1 accuracy among the finished follow-ups (the Top1 printer column). */
      top1: Type.Optional(Type.Number()),
      results: Type.Array(EvaluationResultSchema),
    }),
  ),
});

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
