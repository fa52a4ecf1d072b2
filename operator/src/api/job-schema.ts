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
import type {
  V1Affinity,
  V1Container,
  V1EnvFromSource,
  V1EnvVar,
  V1LocalObjectReference,
  V1ResourceRequirements,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import {
  CheckpointSchema,
  DATASET_FORMATS,
  DataSchema,
  RuntimeSchema,
  TrainingConfigSchema,
} from '../../../worker/src/config/schema.ts';
import { EVAL_KINDS, EVAL_PARAMS, paramKinds } from '../../../worker/src/eval/eval-params.ts';

/** An object the apiserver stores as-is (upstream Kubernetes types we do not re-validate). */
const preserved = <T>(description: string) =>
  Type.Unsafe<T>({ type: 'object', description, 'x-kubernetes-preserve-unknown-fields': true });

const quantity = Type.Unsafe<string | number>({
  'x-kubernetes-int-or-string': true,
  anyOf: [{ type: 'integer' }, { type: 'string', pattern: '^[0-9.]+([eE][-+]?[0-9]+|[numkMGTPE]i?)?$' }],
});

const ResourcesSchema = Type.Unsafe<V1ResourceRequirements>(
  Type.Object(
    {
      limits: Type.Optional(
        Type.Record(Type.String(), quantity, { description: 'e.g. {"nvidia.com/gpu": 1, memory: "8Gi"}' }),
      ),
      requests: Type.Optional(
        Type.Record(Type.String(), quantity, {
          description: 'Requested quantities, e.g. {cpu: 2, memory: "4Gi"}.',
        }),
      ),
    },
    { description: 'Worker container resources (cpu, memory, nvidia.com/gpu, ...).' },
  ),
);

const EnvVarSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 256, description: 'Variable name.' }),
  value: Type.Optional(Type.String({ maxLength: 32768, description: 'Literal value.' })),
  valueFrom: Type.Optional(preserved<NonNullable<V1EnvVar['valueFrom']>>('Upstream EnvVarSource.')),
});

const TolerationSchema = Type.Object({
  key: Type.Optional(Type.String({ maxLength: 317, description: 'Taint key the toleration matches.' })),
  operator: Type.Optional(
    Type.Union([Type.Literal('Exists'), Type.Literal('Equal')], {
      description: 'Exists or Equal (the default).',
    }),
  ),
  value: Type.Optional(Type.String({ maxLength: 63, description: 'Taint value (operator Equal).' })),
  effect: Type.Optional(
    Type.Union([Type.Literal('NoSchedule'), Type.Literal('PreferNoSchedule'), Type.Literal('NoExecute')], {
      description: 'Taint effect matched; empty matches all.',
    }),
  ),
  tolerationSeconds: Type.Optional(
    Type.Integer({ description: 'NoExecute: seconds the pod stays bound after the taint appears.' }),
  ),
});

const VolumeSchema = Type.Unsafe<V1Volume>({
  type: 'object',
  required: ['name'],
  properties: {
    name: {
      type: 'string',
      minLength: 1,
      maxLength: 63,
      description: 'Volume name (volumeMounts refer to it).',
    },
  },
  'x-kubernetes-preserve-unknown-fields': true,
  description: 'An upstream Volume (e.g. the dataset PVC).',
});

const VolumeMountSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 63, description: 'Name of a volume in template.volumes.' }),
  mountPath: Type.String({ minLength: 1, maxLength: 4096, description: 'Path inside the worker container.' }),
  readOnly: Type.Optional(Type.Boolean({ description: 'Mount read-only.' })),
  subPath: Type.Optional(Type.String({ maxLength: 4096, description: 'Sub-path of the volume to mount.' })),
});

export const TemplateSchema = Type.Object(
  {
    image: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: 'Worker image; default: the operator --worker-image.',
      }),
    ),
    imagePullPolicy: Type.Optional(
      Type.Union([Type.Literal('Always'), Type.Literal('IfNotPresent'), Type.Literal('Never')], {
        description: 'Image pull policy of the worker and evaluation containers.',
      }),
    ),
    command: Type.Optional(
      Type.Array(Type.String({ maxLength: 4096 }), {
        maxItems: 32,
        description: 'Entrypoint before "worker"; default node /app/bin/jcl.js.',
      }),
    ),
    resources: Type.Optional(ResourcesSchema),
    procsPerWorker: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 16,
        description:
          'Ranks per worker pod, one per GPU (CUDA_VISIBLE_DEVICES); world size = workers x procsPerWorker. Default 1.',
      }),
    ),
    env: Type.Optional(
      Type.Unsafe<V1EnvVar[]>(
        Type.Array(EnvVarSchema, {
          maxItems: 256,
          description:
            'Extra environment of the worker container; the JCL_* contract variables win over these.',
        }),
      ),
    ),
    nodeSelector: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: 63 }), {
        description: 'Node labels the workers must match.',
      }),
    ),
    tolerations: Type.Optional(
      Type.Unsafe<V1Toleration[]>(
        Type.Array(TolerationSchema, { maxItems: 64, description: 'Taints the workers tolerate.' }),
      ),
    ),
    affinity: Type.Optional(preserved<V1Affinity>('Upstream Affinity.')),
    priorityClassName: Type.Optional(
      Type.String({ maxLength: 253, description: 'PriorityClass of the worker pods.' }),
    ),
    serviceAccountName: Type.Optional(
      Type.String({
        maxLength: 253,
        description: 'ServiceAccount of the worker pods (its token is not mounted).',
      }),
    ),
    volumes: Type.Optional(
      Type.Array(VolumeSchema, { maxItems: 64, description: 'Extra volumes of the worker pods.' }),
    ),
    labels: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: 63 }), {
        description: "Extra labels of the worker and evaluation pods (the operator's own labels win).",
      }),
    ),
    annotations: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: 262144 }), {
        description: 'Annotations of the worker and evaluation pods.',
      }),
    ),
    envFrom: Type.Optional(
      Type.Array(preserved<V1EnvFromSource>('An upstream EnvFromSource (configMapRef or secretRef).'), {
        maxItems: 64,
        description:
          'ConfigMaps and Secrets whose keys become environment variables (env and the JCL_* contract win).',
      }),
    ),
    runtimeClassName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description: 'RuntimeClass of the pods (e.g. nvidia, gvisor).',
      }),
    ),
    imagePullSecrets: Type.Optional(
      Type.Unsafe<V1LocalObjectReference[]>(
        Type.Array(
          Type.Object({ name: Type.String({ minLength: 1, maxLength: 253, description: 'Secret name.' }) }),
          { maxItems: 16, description: 'Secrets for pulling the image from a private registry.' },
        ),
      ),
    ),
    initContainers: Type.Optional(
      Type.Array(preserved<V1Container>('An upstream Container, run before the worker.'), {
        maxItems: 8,
        description:
          'Init containers of the worker pods (e.g. fetch data); the restricted security context is applied where they leave a field unset.',
      }),
    ),
    sidecars: Type.Optional(
      Type.Array(preserved<V1Container>('An upstream Container, run next to the worker.'), {
        maxItems: 8,
        description:
          'Extra containers of the worker pods (e.g. a log shipper); the restricted security context is applied where they leave a field unset.',
      }),
    ),
    podSecurityContext: Type.Optional(
      Type.Object(
        {
          runAsUser: Type.Optional(Type.Integer({ minimum: 1, description: 'UID (non-zero: restricted).' })),
          runAsGroup: Type.Optional(Type.Integer({ minimum: 0, description: 'GID of the processes.' })),
          fsGroup: Type.Optional(Type.Integer({ minimum: 0, description: 'GID that owns the volumes.' })),
          supplementalGroups: Type.Optional(
            Type.Array(Type.Integer({ minimum: 0 }), {
              maxItems: 32,
              description: 'Extra GIDs of the processes.',
            }),
          ),
        },
        {
          description:
            'The pod security fields the Pod Security "restricted" profile leaves to the user; runAsNonRoot, seccomp and the container contexts stay fixed.',
        },
      ),
    ),
    volumeMounts: Type.Optional(
      Type.Unsafe<V1VolumeMount[]>(
        Type.Array(VolumeMountSchema, {
          maxItems: 64,
          description: 'Mounts of template.volumes in the worker container.',
        }),
      ),
    ),
  },
  { default: {}, description: 'Pod-level settings of the workers (and the evaluation Jobs).' },
);

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
      description: 'An earlier job name on the same claim, or an absolute checkpoint path.',
    }),
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
