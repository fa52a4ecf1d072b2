/**
 * The CRD's defaults, applied in-process. The apiserver already defaults stored objects, but the operator
 * must not depend on it (objects written before a schema change, unit-test fixtures), so every reconcile
 * starts from `withDefaults(job)`. Same schema, same defaults: this is TypeBox's Value.Default over the
 * schema the CRD is generated from.
 */
import { Value } from '@sinclair/typebox/value';
import { JobSpecSchema, type JobSpec } from './job-schema.ts';
import type { JCLTrainingJob } from './status-schema.ts';

/** A deep copy of the job with every defaulted field filled in. */
export function withDefaults(job: JCLTrainingJob): JCLTrainingJob {
  const copy = structuredClone(job);
  copy.spec = Value.Default(JobSpecSchema, copy.spec ?? {}) as JobSpec;
  return copy;
}
