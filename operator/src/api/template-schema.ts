/**
 * spec.template: the worker pod template as a TypeBox schema (part of the JCLTrainingJob API in
 * job-schema.ts). Pod-level Kubernetes fields whose upstream schema is huge (affinity, env valueFrom,
 * volume sources, containers) are kept as preserve-unknown objects and validated by the apiserver when the
 * pods are created; the fields we own are validated here.
 */
import { Type } from '@sinclair/typebox';
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

/**
 * A user's init container or sidecar: an upstream Container stored as-is, except the securityContext
 * fields the Pod Security "restricted" profile forbids, typed so that CEL (CEL_RULES in crd.ts) refuses
 * them at admission naming the template field (the pod create would fail later, naming only the pod's
 * initContainers[i]).
 */
const userContainerSchema = (description: string) =>
  Type.Unsafe<V1Container>(
    Type.Object(
      {
        securityContext: Type.Optional(
          Type.Object(
            {
              privileged: Type.Optional(Type.Boolean({ description: 'Must be false (restricted).' })),
              allowPrivilegeEscalation: Type.Optional(
                Type.Boolean({ description: 'Must be false (restricted).' }),
              ),
              runAsNonRoot: Type.Optional(Type.Boolean({ description: 'Must be true (restricted).' })),
              runAsUser: Type.Optional(Type.Integer({ description: 'UID; non-zero (restricted).' })),
              capabilities: Type.Optional(
                Type.Object(
                  {
                    add: Type.Optional(
                      Type.Array(Type.String({ maxLength: 64 }), {
                        maxItems: 32,
                        description: 'Only NET_BIND_SERVICE (restricted).',
                      }),
                    ),
                    drop: Type.Optional(
                      Type.Array(Type.String({ maxLength: 64 }), {
                        maxItems: 64,
                        description: 'Capabilities to drop (ALL when unset).',
                      }),
                    ),
                  },
                  { description: 'Linux capabilities.' },
                ),
              ),
            },
            {
              description:
                'Upstream SecurityContext; fields left unset get the restricted values (runAsNonRoot, no privilege escalation, capabilities drop ALL, RuntimeDefault seccomp, read-only root).',
              'x-kubernetes-preserve-unknown-fields': true,
            },
          ),
        ),
      },
      { description, 'x-kubernetes-preserve-unknown-fields': true },
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
      Type.Array(userContainerSchema('An upstream Container, run before the worker.'), {
        maxItems: 8,
        description:
          'Init containers of the worker and evaluation pods (e.g. fetch data); the restricted security context is applied where they leave a field unset.',
      }),
    ),
    sidecars: Type.Optional(
      Type.Array(userContainerSchema('An upstream Container, run next to the worker.'), {
        maxItems: 8,
        description:
          'Native sidecars of the worker and evaluation pods (e.g. a log shipper): init containers with restartPolicy Always, started after initContainers, stopped once the main container exits; the restricted security context is applied where they leave a field unset.',
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
