/**
 * The JCLTrainingJob CustomResourceDefinition, built from the TypeBox schemas (pure: no I/O). Written to
 * manifests/crd/ by `npm run generate:crd`; `npm run check:crd` and crd.test.ts fail when the checked-in
 * file drifts from this function's output.
 *
 * Cross-field rules are CEL (x-kubernetes-validations) so that `kubectl apply` rejects a bad spec with the
 * field named, instead of the job failing later with exit code 64; they mirror crossFieldProblems() in
 * worker/src/config/parse-config.ts.
 */
import { JobSpecSchema, TRAINING_OVERLAPS } from './job-schema.ts';
import { EVAL_KINDS, EVAL_PARAMS, paramKinds } from '../../../worker/src/eval/eval-params.ts';
import { JobStatusSchema } from './status-schema.ts';
import { toStructuralSchema, type SchemaNode } from './openapi.ts';
import { DNS1035_LABEL, MAX_JOB_NAME_LENGTH } from '../desired/names.ts';
import { CRD_NAME, GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, VERSION } from './constants.ts';

/** One CEL rule as the CRD carries it. */
export interface CelRule {
  rule: string;
  message: string;
  /** A CEL string expression shown instead of `message` (so the message can name the values). */
  messageExpression?: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

const immutable = (field: string): CelRule => ({
  rule: 'self == oldSelf',
  message: `spec.${field} is immutable once the job is created; create a new job (checkpoints.resumeFrom continues training)`,
  reason: 'FieldValueForbidden',
});

/**
 * One rule per spec.training field that the job spec carries elsewhere (TRAINING_OVERLAPS): the apiserver
 * refuses it and names the field to use, instead of the operator overwriting it without a word (issue 19).
 */
function overlapRules(): Record<string, CelRule[]> {
  return Object.fromEntries(
    Object.entries(TRAINING_OVERLAPS).map(([section, fields]) => [
      `training.${section}`,
      Object.entries(fields).map(([key, use]) => ({
        rule: `!has(self.${key})`,
        message: `spec.training.${section}.${key} is not accepted in a JCLTrainingJob: set ${use} instead`,
        fieldPath: `.${key}`,
        reason: 'FieldValueForbidden' as const,
      })),
    ]),
  );
}

/**
 * spec.evaluation[] rules: each kind takes only its own params (a linear parameter on a knn evaluation
 * is refused at admission, not after the training), and a shared name keeps the kind's own minimum.
 */
function evaluationRules(): CelRule[] {
  const all = paramKinds();
  return EVAL_KINDS.flatMap((kind) => {
    const own = Object.keys(EVAL_PARAMS[kind]);
    const foreign = Object.keys(all).filter((n) => !own.includes(n));
    const rules: CelRule[] = [
      {
        rule: `self.kind != '${kind}' || !has(self.params) || ${foreign.map((n) => `!has(self.params.${n})`).join(' && ')}`,
        message: `spec.evaluation[].params: kind ${kind} takes ${own.join(', ')}`,
        fieldPath: '.params',
        reason: 'FieldValueForbidden',
      },
    ];
    for (const name of own) {
      const min = (EVAL_PARAMS[kind][name].schema as { minimum?: number }).minimum;
      const shared = all[name].map((k) => (EVAL_PARAMS[k][name].schema as { minimum?: number }).minimum);
      if (min !== undefined && shared.some((m) => m !== min))
        rules.push({
          rule: `self.kind != '${kind}' || !has(self.params) || !has(self.params.${name}) || self.params.${name} >= ${min}`,
          message: `spec.evaluation[].params.${name}: must be >= ${min} for kind ${kind}`,
          fieldPath: `.params.${name}`,
          reason: 'FieldValueInvalid',
        });
    }
    return rules;
  });
}

/**
 * Pod Security "restricted" for a user container's securityContext (issue 19): refused at admission with
 * the template field and the value, instead of a pod create that fails later naming the pod's field.
 */
function restrictedContainerRules(list: 'initContainers' | 'sidecars'): CelRule[] {
  const at = `spec.template.${list}[].securityContext`;
  return [
    {
      rule: '!has(self.privileged) || !self.privileged',
      message: `${at}.privileged: must be false (Pod Security "restricted"), got true`,
      fieldPath: '.privileged',
      reason: 'FieldValueForbidden',
    },
    {
      rule: '!has(self.allowPrivilegeEscalation) || !self.allowPrivilegeEscalation',
      message: `${at}.allowPrivilegeEscalation: must be false (Pod Security "restricted"), got true`,
      fieldPath: '.allowPrivilegeEscalation',
      reason: 'FieldValueForbidden',
    },
    {
      rule: '!has(self.runAsNonRoot) || self.runAsNonRoot',
      message: `${at}.runAsNonRoot: must be true (Pod Security "restricted"), got false`,
      fieldPath: '.runAsNonRoot',
      reason: 'FieldValueForbidden',
    },
    {
      rule: '!has(self.runAsUser) || self.runAsUser != 0',
      message: `${at}.runAsUser: must be non-zero (Pod Security "restricted"), got 0`,
      fieldPath: '.runAsUser',
      reason: 'FieldValueForbidden',
    },
    {
      rule: "!has(self.capabilities) || !has(self.capabilities.add) || self.capabilities.add.all(c, c == 'NET_BIND_SERVICE')",
      message: `${at}.capabilities.add: only NET_BIND_SERVICE may be added (Pod Security "restricted")`,
      messageExpression: `'${at}.capabilities.add: only NET_BIND_SERVICE may be added (Pod Security "restricted"), got %s'.format([self.capabilities.add])`,
      fieldPath: '.capabilities.add',
      reason: 'FieldValueForbidden',
    },
  ];
}

/** CEL rules keyed by the dotted path (below spec) of the schema node that carries them. */
export const CEL_RULES: Readonly<Record<string, readonly CelRule[]>> = {
  ...overlapRules(),
  '': [
    {
      // spec.workers < 1 is refused by its own minimum; the guard keeps CEL from dividing by zero.
      rule: 'self.workers < 1 || self.training.optim.batchSize % (self.workers * (has(self.template.procsPerWorker) ? self.template.procsPerWorker : 1)) == 0',
      message:
        'spec.training.optim.batchSize must be divisible by spec.workers (times spec.template.procsPerWorker)',
      messageExpression:
        "'spec.training.optim.batchSize %d (512 when unset) must be divisible by spec.workers %d times spec.template.procsPerWorker %d: each rank takes batchSize / (workers * procsPerWorker) images per step'.format([self.training.optim.batchSize, self.workers, (has(self.template.procsPerWorker) ? self.template.procsPerWorker : 1)])",
      fieldPath: '.training.optim.batchSize',
      reason: 'FieldValueInvalid',
    },
    {
      rule: 'self.training.optim.batchSize < 1 || self.training.jcl.queueSize % self.training.optim.batchSize == 0',
      message: 'spec.training.jcl.queueSize must be a multiple of spec.training.optim.batchSize',
      messageExpression:
        "'spec.training.jcl.queueSize %d must be a multiple of spec.training.optim.batchSize %d (512 when unset)'.format([self.training.jcl.queueSize, self.training.optim.batchSize])",
      fieldPath: '.training.jcl.queueSize',
      reason: 'FieldValueInvalid',
    },
    {
      rule: "self.dataset.format in ['synthetic', 'fashion-mnist'] || self.dataset.path != ''",
      message: 'spec.dataset.path is required for formats other than synthetic and fashion-mnist',
      messageExpression:
        "'spec.dataset.path is required with spec.dataset.format %s (only synthetic and fashion-mnist need none)'.format([self.dataset.format])",
      fieldPath: '.dataset.path',
      reason: 'FieldValueRequired',
    },
    {
      rule: 'size(self.evaluation) == 0 || has(self.checkpoints.claimName) || has(self.checkpoints.uri)',
      message:
        'spec.checkpoints.claimName or spec.checkpoints.uri is required with spec.evaluation: the follow-ups read the final checkpoint from there',
      messageExpression:
        "'spec.checkpoints.claimName or spec.checkpoints.uri is required with spec.evaluation (%d follow-ups): the follow-ups read the final checkpoint from there'.format([size(self.evaluation)])",
      fieldPath: '.checkpoints.claimName',
      reason: 'FieldValueRequired',
    },
    {
      rule: '!has(self.runPolicy.schedulingPolicy) || !has(self.runPolicy.schedulingPolicy.minAvailable) || self.runPolicy.schedulingPolicy.minAvailable <= self.workers',
      message: 'spec.runPolicy.schedulingPolicy.minAvailable must be <= spec.workers',
      fieldPath: '.runPolicy.schedulingPolicy.minAvailable',
      reason: 'FieldValueInvalid',
    },
  ],
  'runPolicy.schedulingPolicy': [
    {
      rule: "self.provider != 'kueue' || has(self.queue)",
      message: 'spec.runPolicy.schedulingPolicy.queue (a LocalQueue) is required with provider kueue',
      fieldPath: '.queue',
      reason: 'FieldValueRequired',
    },
  ],
  'evaluation[]': evaluationRules(),
  workers: [immutable('workers')],
  'template.procsPerWorker': [immutable('template.procsPerWorker')],
  'template.initContainers[].securityContext': restrictedContainerRules('initContainers'),
  'template.sidecars[].securityContext': restrictedContainerRules('sidecars'),
  training: [immutable('training')],
  dataset: [immutable('dataset')],
  checkpoints: [immutable('checkpoints')],
  'training.jcl': [
    {
      rule: 'self.positives >= 1',
      message: 'spec.training.jcl.positives must be >= 1',
      messageExpression: "'spec.training.jcl.positives must be >= 1, got %d'.format([self.positives])",
      fieldPath: '.positives',
      reason: 'FieldValueInvalid',
    },
    {
      rule: 'self.temperature > 0.0',
      message: 'spec.training.jcl.temperature must be > 0',
      messageExpression: "'spec.training.jcl.temperature must be > 0, got %s'.format([self.temperature])",
      fieldPath: '.temperature',
      reason: 'FieldValueInvalid',
    },
  ],
  'training.optim': [
    {
      rule: 'self.warmupEpochs <= double(self.epochs)',
      message: 'spec.training.optim.warmupEpochs must be <= epochs',
      messageExpression:
        "'spec.training.optim.warmupEpochs %s must be <= spec.training.optim.epochs %d'.format([self.warmupEpochs, self.epochs])",
      fieldPath: '.warmupEpochs',
      reason: 'FieldValueInvalid',
    },
  ],
  'training.data.augment': [
    {
      rule: 'self.cropScaleMin <= self.cropScaleMax',
      message: 'spec.training.data.augment.cropScaleMin must be <= cropScaleMax',
      messageExpression:
        "'spec.training.data.augment.cropScaleMin %s must be <= cropScaleMax %s'.format([self.cropScaleMin, self.cropScaleMax])",
      fieldPath: '.cropScaleMin',
      reason: 'FieldValueInvalid',
    },
    {
      rule: 'self.blurSigmaMin <= self.blurSigmaMax',
      message: 'spec.training.data.augment.blurSigmaMin must be <= blurSigmaMax',
      messageExpression:
        "'spec.training.data.augment.blurSigmaMin %s must be <= blurSigmaMax %s'.format([self.blurSigmaMin, self.blurSigmaMax])",
      fieldPath: '.blurSigmaMin',
      reason: 'FieldValueInvalid',
    },
  ],
};

/**
 * metadata.name becomes the Service `<name>-workers` and the pod hostnames `<name>-worker-<rank>`, both
 * DNS-1035 labels (at most 63 characters, lowercase letters, digits and '-', starting with a letter):
 * a name the CRD would otherwise accept (`my.job`) could never run.
 */
export const NAME_RULES: readonly CelRule[] = [
  {
    rule: `self.metadata.name.matches('${DNS1035_LABEL.source}')`,
    message:
      'metadata.name must be a DNS-1035 label (lowercase letters, digits and -, starting with a letter, ending with a letter or digit)',
    messageExpression: `'metadata.name "' + self.metadata.name + '" must be a DNS-1035 label (lowercase letters, digits and -, starting with a letter, ending with a letter or digit): it names the Service <name>-workers and the pod hostnames <name>-worker-<rank>'`,
    fieldPath: '.metadata.name',
    reason: 'FieldValueInvalid',
  },
  {
    rule: `size(self.metadata.name) <= ${MAX_JOB_NAME_LENGTH}`,
    message: `metadata.name must be at most ${MAX_JOB_NAME_LENGTH} characters: worker hostnames <name>-worker-<rank> must stay DNS labels`,
    messageExpression: `'metadata.name "%s" has %d characters; it must be at most ${MAX_JOB_NAME_LENGTH} characters to leave room for the suffix -worker-<rank> (up to 12 characters) in a 63-character DNS label'.format([self.metadata.name, size(self.metadata.name)])`,
    fieldPath: '.metadata.name',
    reason: 'FieldValueInvalid',
  },
];

/** The spec's structural schema with the CEL rules attached. */
export function buildSpecSchema(): SchemaNode {
  const spec = toStructuralSchema(JobSpecSchema);
  for (const [path, rules] of Object.entries(CEL_RULES)) {
    const node = path === '' ? spec : nodeAt(spec, path);
    node['x-kubernetes-validations'] = rules.map((r) => ({ ...r }));
  }
  return spec;
}

function nodeAt(root: SchemaNode, dotted: string): SchemaNode {
  let node = root;
  for (const part of dotted.split('.')) {
    // `name[]` is the items node of the array `name`.
    const key = part.replace(/\[\]$/, '');
    let next = (node.properties as Record<string, SchemaNode> | undefined)?.[key];
    if (next && part.endsWith('[]')) next = next.items as SchemaNode | undefined;
    if (!next) throw new Error(`CEL_RULES: no schema node at spec.${dotted} (missing ${key})`);
    node = next;
  }
  return node;
}

/** The whole CRD object (apiextensions.k8s.io/v1). */
export function buildCrd(): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: CRD_NAME,
      labels: { 'app.kubernetes.io/name': 'jcl-operator', 'app.kubernetes.io/part-of': 'jcl' },
    },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: [...SHORT_NAMES],
        categories: ['all', 'jcl'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Ready', type: 'string', jsonPath: '.status.ready', description: 'ready/total workers' },
            { name: 'Epoch', type: 'integer', jsonPath: '.status.progress.epoch' },
            { name: 'Loss', type: 'number', jsonPath: '.status.progress.loss' },
            {
              name: 'Top1',
              type: 'number',
              jsonPath: '.status.evaluation.top1',
              description: 'best top-1 of the evaluation follow-ups',
            },
            { name: 'Restarts', type: 'integer', jsonPath: '.status.restarts' },
            {
              name: 'Scheduling',
              type: 'string',
              jsonPath: '.status.conditions[?(@.type=="Unschedulable")].message',
              description: "why the gang waits (the scheduler's reason), while it cannot be placed",
            },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description:
                'A data-parallel Joint Contrastive Learning training run (one pod per rank) and its evaluation follow-ups.',
              required: ['spec'],
              'x-kubernetes-validations': NAME_RULES.map((r) => ({ ...r })),
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                // maxLength bounds the CEL cost of the name rules (253: the apiserver's own limit).
                metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 253 } } },
                spec: buildSpecSchema(),
                status: toStructuralSchema(JobStatusSchema),
              },
            },
          },
        },
      ],
    },
  };
}
