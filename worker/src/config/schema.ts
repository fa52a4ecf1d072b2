/**
 * The training configuration: one TypeBox definition that is (1) the worker's validator, (2) the source
 * of the JCLTrainingJob CRD's OpenAPI schema (operator/src/api), (3) the documentation of every knob.
 * Defaults follow the paper (shared/docs/JCL.md, "Hyper-parameters"); the local demo uses a preset.
 */
import { Type, type Static } from '@sinclair/typebox';
import { DistSchema } from './dist-schema.ts';
import { literalUnion } from './literal-union.ts';

export const MODEL_ARCHS = ['resnet18', 'resnet50', 'resnet18-cifar', 'resnet-tiny'] as const;
export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export const DATASET_FORMATS = ['synthetic', 'fashion-mnist', 'cifar10', 'image-folder'] as const;

export const ModelSchema = Type.Object(
  {
    arch: literalUnion(
      MODEL_ARCHS,
      'Backbone: ImageNet ResNets, CIFAR-style ResNet-18 (3x3 stem), or a tiny ResNet for tests.',
      'resnet50',
    ),
    embedDim: Type.Integer({
      minimum: 1,
      maximum: 4096,
      default: 128,
      description: 'Projection head output d.',
    }),
    headHidden: Type.Integer({
      minimum: 0,
      maximum: 8192,
      default: 0,
      description: 'MLP head hidden width; 0 = the backbone feature width (MoCo v2).',
    }),
    headBatchNorm: Type.Boolean({
      default: false,
      description:
        "BatchNorm after the head's hidden layer (SimCLR/MoCo v3 style; MoCo v2 and the paper have none).",
    }),
  },
  { default: {}, description: 'The encoder: backbone and projection head.' },
);

export const JclSchema = Type.Object(
  {
    method: literalUnion(
      ['jcl', 'mocov2'] as const,
      'jcl, or the MoCo v2 baseline (forces M = 1, lambda = 0).',
      'jcl',
    ),
    positives: Type.Integer({
      minimum: 1,
      maximum: 64,
      default: 5,
      description: 'M: positive key crops per image.',
    }),
    lambda: Type.Number({
      minimum: 0,
      maximum: 1000,
      default: 4.0,
      description: 'lambda: weight of the covariance term.',
    }),
    lambdaSchedule: literalUnion(
      ['ramp', 'constant'] as const,
      'ramp: lambda*(epoch+1)/epochs (reference code); constant: lambda.',
      'ramp',
    ),
    temperature: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 0.2, description: 'tau.' }),
    queueSize: Type.Integer({
      minimum: 1,
      default: 65536,
      description: 'K: negatives in the queue of key means; a multiple of the global batch.',
    }),
    keyMomentum: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.999,
      description: 'm: momentum of the key encoder.',
    }),
  },
  {
    default: {},
    description: 'The contrastive objective: JCL (or the MoCo v2 baseline), positives, queue, temperature.',
  },
);

export const OptimSchema = Type.Object(
  {
    batchSize: Type.Integer({
      minimum: 1,
      default: 512,
      description: 'Global batch N (split evenly over workers).',
    }),
    epochs: Type.Integer({ minimum: 1, default: 200, description: 'Training epochs.' }),
    lr: Type.Number({ exclusiveMinimum: 0, default: 0.06, description: 'Base learning rate (SGD).' }),
    lrSchedule: literalUnion(['cosine', 'constant'] as const, 'Learning-rate schedule.', 'cosine'),
    warmupEpochs: Type.Number({
      minimum: 0,
      default: 0,
      description: 'Linear warm-up epochs before the schedule.',
    }),
    momentum: Type.Number({ minimum: 0, maximum: 1, default: 0.9, description: 'SGD momentum.' }),
    weightDecay: Type.Number({ minimum: 0, default: 1e-4, description: 'SGD weight decay.' }),
    stepsPerEpoch: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Cap on steps per epoch; 0 = the whole dataset.',
    }),
  },
  { default: {}, description: 'SGD and its schedule.' },
);

export const AugmentSchema = Type.Object(
  {
    cropScaleMin: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.2,
      description: 'Smallest area fraction of a random resized crop.',
    }),
    cropScaleMax: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 1.0,
      description: 'Largest area fraction of a random resized crop.',
    }),
    jitterProb: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.8,
      description: 'Probability of colour jitter.',
    }),
    brightness: Type.Number({ minimum: 0, default: 0.4, description: 'Colour jitter: brightness strength.' }),
    contrast: Type.Number({ minimum: 0, default: 0.4, description: 'Colour jitter: contrast strength.' }),
    saturation: Type.Number({ minimum: 0, default: 0.4, description: 'Colour jitter: saturation strength.' }),
    hue: Type.Number({ minimum: 0, maximum: 0.5, default: 0.1, description: 'Colour jitter: hue strength.' }),
    grayscaleProb: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.2,
      description: 'Probability of converting a crop to grayscale.',
    }),
    blurProb: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.5,
      description: 'Probability of Gaussian blur.',
    }),
    blurSigmaMin: Type.Number({
      exclusiveMinimum: 0,
      default: 0.1,
      description: 'Smallest Gaussian blur sigma (pixels).',
    }),
    blurSigmaMax: Type.Number({
      exclusiveMinimum: 0,
      default: 2.0,
      description: 'Largest Gaussian blur sigma (pixels).',
    }),
    flipProb: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.5,
      description: 'Probability of a horizontal flip.',
    }),
  },
  {
    default: {},
    description:
      'MoCo v2 augmentation of every crop (random resized crop, colour jitter, grayscale, blur, flip).',
  },
);

export const DataSchema = Type.Object(
  {
    format: literalUnion(DATASET_FORMATS, 'Dataset format.', 'synthetic'),
    path: Type.String({
      default: '',
      description: 'File or directory of the dataset (unused for synthetic).',
    }),
    imageSize: Type.Integer({
      minimum: 8,
      maximum: 1024,
      default: 32,
      description: 'Side of the square crops fed to the network.',
    }),
    skipBadImages: Type.Boolean({
      default: false,
      description: 'image-folder: skip (and count) undecodable images instead of failing.',
    }),
    syntheticClasses: Type.Integer({
      minimum: 2,
      maximum: 1000,
      default: 10,
      description: 'synthetic: number of classes.',
    }),
    syntheticPerClass: Type.Integer({
      minimum: 1,
      default: 100,
      description: 'synthetic: training images per class.',
    }),
    prefetchBatches: Type.Integer({
      minimum: 0,
      maximum: 64,
      default: 2,
      description: 'Batches of crops prepared ahead of the training step.',
    }),
    loaderWorkers: Type.Integer({
      minimum: 0,
      maximum: 256,
      default: 0,
      description:
        'Loader threads making the crops (like DataLoader num_workers); 0: one per CPU the process may use. Unused when prefetchBatches is 0.',
    }),
    augment: AugmentSchema,
  },
  { default: {}, description: 'The training images and how crops are made from them.' },
);

/** How to reach an S3-compatible store (AWS S3, GCS's S3 API, MinIO, Ceph RGW, SeaweedFS). */
export const S3Schema = Type.Object(
  {
    endpoint: Type.String({
      default: '',
      maxLength: 2048,
      description: 'http(s)://host[:port] of an S3-compatible server ("" = AWS S3 of the region).',
    }),
    region: Type.String({
      default: 'us-east-1',
      minLength: 1,
      maxLength: 64,
      description: 'Region the requests are signed for (any value most S3-compatible servers accept).',
    }),
    pathStyle: Type.Boolean({
      default: false,
      description: 'Address buckets as endpoint/bucket (MinIO, Ceph, SeaweedFS) instead of bucket.endpoint.',
    }),
    partSizeMiB: Type.Integer({
      minimum: 5,
      maximum: 5120,
      default: 16,
      description: 'Multipart upload part size; larger checkpoints upload in parts of this size.',
    }),
    maxAttempts: Type.Integer({
      minimum: 1,
      maximum: 20,
      default: 5,
      description: 'Attempts per request (with backoff) on throttling and transient errors.',
    }),
  },
  { default: {} },
);

export const CheckpointSchema = Type.Object(
  {
    everySteps: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Checkpoint every N steps (0 = only at epoch ends).',
    }),
    everyEpochs: Type.Integer({
      minimum: 0,
      default: 1,
      description: 'Checkpoint every N epochs (0 = only at the end).',
    }),
    keepLast: Type.Integer({ minimum: 1, default: 3, description: 'Newest checkpoints kept.' }),
    resumeFrom: Type.String({
      default: '',
      description:
        'Checkpoint file, directory or s3://bucket/prefix[/ckpt-N.jclckpt] to resume from ("" = the latest in uri or the run directory).',
    }),
    uri: Type.String({
      default: '',
      maxLength: 4096,
      description: 'Object storage for checkpoints, s3://bucket/prefix ("" = <runtime.outDir>/checkpoints).',
    }),
    s3: S3Schema,
  },
  { default: {}, description: 'When checkpoints are written and which are kept.' },
);

export const EvalSchema = Type.Object(
  {
    knnK: Type.Integer({ minimum: 1, default: 200, description: 'k-NN: neighbours that vote.' }),
    knnTemperature: Type.Number({
      exclusiveMinimum: 0,
      default: 0.07,
      description: 'k-NN: temperature of the similarity-weighted votes.',
    }),
    knnEveryEpochs: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Run the k-NN monitor every N epochs (0 = off).',
    }),
  },
  { default: {}, description: 'The k-NN monitor during training.' },
);

export const RuntimeSchema = Type.Object(
  {
    backend: literalUnion(BACKENDS, 'TensorFlow.js backend.', 'auto'),
    seed: Type.Integer({
      minimum: 0,
      maximum: 2 ** 31 - 1,
      default: 0,
      description: 'Seed of initialisation, data order and augmentation.',
    }),
    outDir: Type.String({
      default: 'runs/jcl',
      description: 'Run directory: checkpoints, metrics.jsonl, exports.',
    }),
    logLevel: literalUnion(['trace', 'debug', 'info', 'warn', 'error'] as const, 'Log level.', 'info'),
  },
  { default: {}, description: 'Backend, seed, run directory and logging.' },
);

export const TrainingConfigSchema = Type.Object({
  model: ModelSchema,
  jcl: JclSchema,
  optim: OptimSchema,
  data: DataSchema,
  checkpoint: CheckpointSchema,
  eval: EvalSchema,
  runtime: RuntimeSchema,
  dist: DistSchema,
});

export type TrainingConfig = Static<typeof TrainingConfigSchema>;
export type ModelArch = (typeof MODEL_ARCHS)[number];
export type BackendName = (typeof BACKENDS)[number];
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** A deep-partial input, as read from files, flags or a CRD spec. */
export type TrainingConfigInput = { [K in keyof TrainingConfig]?: Partial<TrainingConfig[K]> };
