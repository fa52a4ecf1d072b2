/**
 * The parameters of each `jcl eval` kind as one typed table (issue 19): the JCLTrainingJob CRD's
 * spec.evaluation[].params schema, the operator's params -> flags mapping (operator/src/desired/eval-job.ts)
 * and `jcl eval --help` agree because they all read it. Field names are camelCase (Kubernetes style),
 * each with the `jcl eval` flag it becomes; defaults are the ones `jcl eval` applies
 * (eval-options.ts; eval-params.test.ts checks that they match).
 */
import { Type, type TSchema } from '@sinclair/typebox';

export const EVAL_KINDS = ['knn', 'linear', 'features'] as const;
export type EvalKind = (typeof EVAL_KINDS)[number];

/** One parameter: its flag, schema (bounds as `jcl eval` checks them) and default (as documented). */
export interface EvalParam {
  flag: string;
  schema: TSchema;
  /** The default `jcl eval` applies; a string when it depends on the run (e.g. the training config). */
  default: unknown;
}

const int = (min: number, description: string, extra: object = {}) =>
  Type.Integer({ minimum: min, description, ...extra });
const num = (description: string, extra: object) => Type.Number({ description, ...extra });

export const EVAL_PARAMS: Readonly<Record<EvalKind, Readonly<Record<string, EvalParam>>>> = Object.freeze({
  knn: {
    k: {
      flag: 'k',
      schema: int(1, 'Neighbours that vote.'),
      default: "the training config's eval.knnK",
    },
    limit: { flag: 'limit', schema: int(1, 'Images of the train split in the feature bank.'), default: 5000 },
  },
  linear: {
    epochs: { flag: 'epochs', schema: int(1, 'Epochs of the linear probe.'), default: 100 },
    lr: { flag: 'lr', schema: num('SGD learning rate.', { exclusiveMinimum: 0 }), default: 30 },
    batch: { flag: 'batch', schema: int(1, 'Batch size.'), default: 256 },
    momentum: { flag: 'momentum', schema: num('SGD momentum.', { minimum: 0, maximum: 1 }), default: 0.9 },
    weightDecay: { flag: 'weight-decay', schema: num('Weight decay.', { minimum: 0 }), default: 0 },
    milestones: {
      flag: 'milestones',
      schema: Type.Array(Type.Integer({ minimum: 0 }), {
        maxItems: 32,
        description: 'Epochs at which the learning rate is multiplied by gamma.',
      }),
      default: [60, 80],
    },
    gamma: {
      flag: 'gamma',
      schema: num('Learning-rate factor at each milestone.', { exclusiveMinimum: 0, maximum: 1 }),
      default: 0.1,
    },
    cropMin: {
      flag: 'crop-min',
      schema: num('Smallest random-resized-crop scale.', { exclusiveMinimum: 0, maximum: 1 }),
      default: 0.08,
    },
    cropMax: {
      flag: 'crop-max',
      schema: num('Largest random-resized-crop scale.', { exclusiveMinimum: 0, maximum: 1 }),
      default: 1,
    },
    flip: {
      flag: 'flip',
      schema: num('Horizontal flip probability.', { minimum: 0, maximum: 1 }),
      default: 0.5,
    },
    cacheFeatures: {
      flag: 'cache-features',
      schema: Type.Boolean({
        description: 'Extract features once with the centre crop (fast; augmentation off).',
      }),
      default: false,
    },
    limit: {
      flag: 'limit',
      schema: int(0, 'Use the first N images of each split (0 = all).'),
      default: 0,
    },
    seed: { flag: 'seed', schema: int(0, 'Seed of the probe.'), default: 0 },
  },
  features: {
    images: { flag: 'images', schema: int(2, 'Images analysed.'), default: 200 },
    keys: { flag: 'keys', schema: int(2, 'Augmented key crops per image.'), default: 5 },
    bins: {
      flag: 'bins',
      schema: int(1, 'Histogram bins of the cosine similarities.', { maximum: 1000 }),
      default: 40,
    },
    encoder: {
      flag: 'encoder',
      schema: Type.Union([Type.Literal('key'), Type.Literal('query')], { description: 'Encoder analysed.' }),
      default: 'key',
    },
    split: {
      flag: 'split',
      schema: Type.Union([Type.Literal('test'), Type.Literal('train')], { description: 'Dataset split.' }),
      default: 'test',
    },
    seed: { flag: 'seed', schema: int(0, 'Seed of the crops.'), default: 0 },
  },
});

/** Every parameter name of any kind, with the kinds that accept it. */
export function paramKinds(): Record<string, EvalKind[]> {
  const out: Record<string, EvalKind[]> = {};
  for (const kind of EVAL_KINDS)
    for (const name of Object.keys(EVAL_PARAMS[kind])) (out[name] ??= []).push(kind);
  return out;
}

/**
 * Typed params -> `jcl eval` arguments: {epochs: 5, cacheFeatures: true, milestones: [3, 4]} ->
 * ['--epochs', '5', '--cache-features', '--milestones', '3,4']; false booleans are left out. Throws
 * a RangeError naming `field` for a parameter the kind does not take.
 */
export function paramsToFlags(kind: EvalKind, params: Record<string, unknown>, field = 'params'): string[] {
  const table = EVAL_PARAMS[kind];
  return Object.entries(params).flatMap(([name, v]) => {
    const p = table[name];
    if (!p)
      throw new RangeError(
        `${field}.${name}: not a parameter of ${kind} (expected one of ${Object.keys(table).join(', ')}), got ${JSON.stringify(v)}`,
      );
    if (typeof v === 'boolean') return v ? [`--${p.flag}`] : [];
    if (Array.isArray(v)) return [`--${p.flag}`, v.join(',')];
    return [`--${p.flag}`, String(v)];
  });
}
