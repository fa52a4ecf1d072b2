/**
 * The JCLTrainingJob API as TypeBox schemas: the source of the CRD's OpenAPI schema (api/crd.ts) and of
 * the TypeScript types the operator works with. `spec.training` IS the worker's TrainingConfig schema
 * (worker/src/config/schema.ts), so the apiserver validates exactly what `jcl worker` accepts.
 *
 * Pod-level Kubernetes fields whose upstream schema is huge (affinity, env valueFrom, volume sources) are
 * kept as preserve-unknown objects and validated by the apiserver when the pods are created; the fields we
 * own (counts, policies, names, enums) are validated here.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  CheckpointSchema,
  DATASET_FORMATS,
  DataSchema,
  RuntimeSchema,
  S3Schema,
  TrainingConfigSchema,
} from '../../../worker/src/config/schema.ts';
import { EVAL_KINDS, EVAL_PARAMS, paramKinds } from '../../../worker/src/eval/eval-params.ts';
import { TemplateSchema } from './template-schema.ts';

export { TemplateSchema };

export const DatasetSchema = Type.Object(
  {
    format: Type.Union(
      DATASET_FORMATS.map((f) => Type.Literal(f)),
      { default: 'synthetic', description: 'Dataset format (training.data.format).' },
    ),
    path: Type.String({
      default: '',
      maxLength: 4096,
      description: 'File or directory, relative to mountPath unless absolute.',
    }),
    claimName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description: 'PVC mounted read-only at mountPath; else mount it through template.volumes.',
      }),
    ),
    mountPath: Type.String({
      default: '/data',
      minLength: 1,
      maxLength: 4096,
      description: 'Where the dataset volume is mounted in the workers.',
    }),
  },
  { default: {}, description: 'The dataset: format, path and the volume it is read from.' },
);

/** A worker S3Schema integer with its bounds and description, optional and without the default. */
function workerS3Field(key: 'partSizeMiB' | 'maxAttempts') {
  const { minimum, maximum, description, default: fallback } = S3Schema.properties[key];
  return Type.Optional(
    Type.Integer({ minimum, maximum, description: `${description} Default ${String(fallback)}.` }),
  );
}

/**
 * How rank 0 and the evaluation Jobs reach spec.checkpoints.uri: the only home of the worker's
 * checkpoint.s3 settings in a job (spec.training.checkpoint.s3 is refused, TRAINING_OVERLAPS).
 */
export const CheckpointS3Schema = Type.Object(
  {
    endpoint: Type.Optional(
      Type.String({
        pattern: '^https?://[^/\\s]+/?$',
        maxLength: 2048,
        description: 'S3-compatible server, http(s)://host[:port]; default: AWS S3 of the region.',
      }),
    ),
    region: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Default us-east-1.' })),
    pathStyle: Type.Optional(
      Type.Boolean({ description: 'Path-style bucket addressing (MinIO, Ceph RGW, SeaweedFS).' }),
    ),
    partSizeMiB: workerS3Field('partSizeMiB'),
    maxAttempts: workerS3Field('maxAttempts'),
    credentialsSecret: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description:
          'Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and optionally AWS_SESSION_TOKEN); without it, the pod identity of template.serviceAccountName (web identity).',
      }),
    ),
  },
  { description: 'How rank 0 and the evaluation Jobs reach uri: endpoint, addressing, keys, uploads.' },
);

export const CheckpointsSchema = Type.Object(
  {
    claimName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description: 'PVC for run directories; without it an emptyDir (restarts begin again).',
      }),
    ),
    everyEpochs: Type.Integer({
      minimum: 0,
      default: 1,
      description: 'Checkpoint every N epochs (0 = only at the end).',
    }),
    everySteps: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Checkpoint every N steps (0 = only at epoch ends).',
    }),
    keepLast: Type.Integer({ minimum: 1, default: 3, description: 'Newest checkpoints kept.' }),
    resumeFrom: Type.String({
      default: '',
      maxLength: 4096,
      description:
        'An earlier job name (on the same claim, or under the same uri), an absolute checkpoint path, or an s3:// URI.',
    }),
    uri: Type.Optional(
      Type.String({
        pattern: '^s3://[a-z0-9][a-z0-9._-]{1,61}[a-z0-9](/.*)?$',
        maxLength: 2048,
        description:
          'Object storage for checkpoints (s3://bucket/prefix); each job writes under <uri>/<namespace>/<job>/.',
      }),
    ),
    s3: Type.Optional(CheckpointS3Schema),
  },
  { default: {}, description: 'Checkpointing and the volume the run directories live on.' },
);

export const EVALUATION_KINDS = EVAL_KINDS;

/**
 * spec.evaluation[].params: the union of every kind's parameters (EVAL_PARAMS), each described with the
 * kinds that take it and its default; CEL rules (api/crd.ts, evaluationRules) refuse a parameter the
 * kind does not take. Defaults are not filled in: they differ per kind and `jcl eval` applies them.
 */
function buildEvalParamsSchema(): TSchema {
  const props: Record<string, TSchema> = {};
  for (const [name, kinds] of Object.entries(paramKinds())) {
    const first = EVAL_PARAMS[kinds[0]][name];
    const looser = kinds
      .map((k) => EVAL_PARAMS[k][name].schema as TSchema & { minimum?: number })
      .reduce((a, b) => ((b.minimum ?? -Infinity) < (a.minimum ?? -Infinity) ? b : a));
    const defaults = kinds
      .map((k) => `${k}: ${JSON.stringify(EVAL_PARAMS[k][name].default).replaceAll('"', '')}`)
      .join('; ');
    props[name] = Type.Optional({
      ...looser,
      description: `${first.schema.description} (${kinds.join(', ')}; default ${defaults}; flag --${first.flag})`,
    } as TSchema);
  }
  return Type.Object(props, {
    description: 'Parameters of the evaluation, as `jcl eval <kind>` takes them (camelCase of its flags).',
  });
}

export const EvaluationSchema = Type.Object({
  kind: Type.Union(
    EVALUATION_KINDS.map((k) => Type.Literal(k)),
    {
      description: "knn (k-NN of the frozen backbone), linear (the paper's linear probe) or features.",
    },
  ),
  params: Type.Optional(Type.Unsafe<Record<string, unknown>>(buildEvalParamsSchema())),
});

export const SCHEDULING_PROVIDERS = ['none', 'kueue', 'volcano', 'coscheduling'] as const;
export const SCHEDULE_TIMEOUT_ACTIONS = ['Fail', 'Requeue'] as const;
/** Gang scheduling (docs/SCHEDULING.md): who admits and places the workers as one group. */
export const SchedulingPolicySchema = Type.Object(
  {
    provider: Type.Union(
      SCHEDULING_PROVIDERS.map((p) => Type.Literal(p)),
      {
        default: 'none',
        description:
          'none: each pod on its own; kueue: pod-group labels + scheduling gate; volcano / coscheduling: a PodGroup and schedulerName.',
      },
    ),
    minAvailable: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1024,
        description: 'Workers that must be placed together (PodGroup minMember); default: all workers.',
      }),
    ),
    queue: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 63,
        description: 'kueue: the LocalQueue (required); volcano: the Queue (default "default").',
      }),
    ),
    priorityClass: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description:
          'PriorityClass of the gang (PodGroup and pods, unless template.priorityClassName is set).',
      }),
    ),
    schedulerName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description:
          'Overrides the scheduler of volcano ("volcano") or coscheduling ("scheduler-plugins-scheduler").',
      }),
    ),
    scheduleTimeoutSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'How long the gang may wait unplaced before onScheduleTimeout applies.',
      }),
    ),
    onScheduleTimeout: Type.Union(
      SCHEDULE_TIMEOUT_ACTIONS.map((p) => Type.Literal(p)),
      {
        default: 'Fail',
        description:
          'Fail the job (reason ScheduleTimeout), or Requeue: delete the gang and create it again.',
      },
    ),
  },
  // No default: a job without schedulingPolicy is stored without one (provider none).
  { description: 'Gang scheduling: who admits and places the workers as one group (docs/SCHEDULING.md).' },
);

export const CLEAN_POD_POLICIES = ['All', 'Running', 'None'] as const;
export const RunPolicySchema = Type.Object(
  {
    backoffLimit: Type.Integer({
      minimum: 0,
      maximum: 1000,
      default: 3,
      description: 'Gang restarts before the job fails.',
    }),
    activeDeadlineSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'Seconds after the start before the job is failed (DeadlineExceeded).',
      }),
    ),
    ttlSecondsAfterFinished: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Seconds after it finished before the job is deleted.' }),
    ),
    cleanPodPolicy: Type.Union(
      CLEAN_POD_POLICIES.map((p) => Type.Literal(p)),
      { default: 'Running', description: 'Which pods to delete when the job finishes.' },
    ),
    suspend: Type.Boolean({
      default: false,
      description: 'true deletes the workers and keeps the checkpoints; false resumes.',
    }),
    schedulingPolicy: Type.Optional(SchedulingPolicySchema),
  },
  { default: {}, description: 'Restarts, deadlines, cleanup and suspension.' },
);

/**
 * The spec.training fields that spec.dataset, spec.checkpoints and the operator own (issue 19: one place
 * for each setting). Keyed by spec.training section: the field names the job spec carries elsewhere and
 * the spec field to use instead. Derived from the schemas, so a key added to spec.dataset or
 * spec.checkpoints that the worker config also has is covered without touching this list.
 */
export const TRAINING_OVERLAPS: Readonly<Record<string, Readonly<Record<string, string>>>> = Object.freeze({
  data: Object.fromEntries(
    Object.keys(DatasetSchema.properties)
      .filter((k) => k in DataSchema.properties)
      .map((k) => [k, `spec.dataset.${k}`]),
  ),
  checkpoint: Object.fromEntries(
    Object.keys(CheckpointsSchema.properties)
      .filter((k) => k in CheckpointSchema.properties)
      .map((k) => [k, `spec.checkpoints.${k}`]),
  ),
  runtime: { outDir: 'spec.checkpoints.claimName (the run directory is <claim>/<job name>)' },
});

/**
 * spec.training as the CRD carries it: the worker's TrainingConfig schema with the overlapping fields
 * optional and without defaults, so that neither the apiserver nor withDefaults() fills them in and the
 * CEL rules (api/crd.ts) see only what the user wrote.
 */
function buildTrainingSpecSchema(): TSchema {
  const sections = { ...TrainingConfigSchema.properties } as Record<string, TSchema>;
  const bySection = { data: DataSchema, checkpoint: CheckpointSchema, runtime: RuntimeSchema } as Record<
    string,
    { properties: Record<string, TSchema> }
  >;
  for (const [section, fields] of Object.entries(TRAINING_OVERLAPS)) {
    const props = { ...bySection[section].properties };
    for (const [key, use] of Object.entries(fields)) {
      const { default: _dropped, ...rest } = props[key] as TSchema & { default?: unknown };
      void _dropped;
      props[key] = Type.Optional({
        ...rest,
        description: `Not accepted in a JCLTrainingJob (the apiserver refuses it): set ${use}.`,
      } as TSchema);
    }
    sections[section] = Type.Object(props, { ...optionsOf(sections[section]), default: {} });
  }
  return Type.Object(sections, {
    default: {},
    description:
      'The worker training config (worker/src/config/schema.ts), less what spec.dataset and spec.checkpoints set.',
  });
}

/** An object schema's own options (description, ...) without its properties. */
function optionsOf(schema: TSchema): Record<string, unknown> {
  const { properties: _p, required: _r, type: _t, ...rest } = schema as Record<string, unknown>;
  void _p;
  void _r;
  void _t;
  return rest;
}

export const JobSpecSchema = Type.Object(
  {
    workers: Type.Integer({
      minimum: 1,
      maximum: 1024,
      description: 'Number of data-parallel workers (one pod per rank).',
    }),
    template: TemplateSchema,
    training: Type.Unsafe<Static<typeof TrainingConfigSchema>>(buildTrainingSpecSchema()),
    dataset: DatasetSchema,
    checkpoints: CheckpointsSchema,
    evaluation: Type.Array(EvaluationSchema, {
      maxItems: 16,
      default: [],
      description: 'Evaluation follow-ups (batch Jobs running `jcl eval`) after the training succeeded.',
    }),
    runPolicy: RunPolicySchema,
  },
  {
    description:
      'A data-parallel JCL training run: workers, pod template, training config, data, checkpoints, evaluation.',
  },
);

export type JobSpec = Static<typeof JobSpecSchema>;
export type EvaluationKind = (typeof EVAL_KINDS)[number];
export type CleanPodPolicy = (typeof CLEAN_POD_POLICIES)[number];
export type SchedulingPolicy = Static<typeof SchedulingPolicySchema>;
export type SchedulingProvider = (typeof SCHEDULING_PROVIDERS)[number];
