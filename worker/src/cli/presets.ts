/**
 * Named starting points for a configuration. `demo` is the embedded default of `jcl train`: a run that
 * finishes in minutes on a laptop CPU and visibly learns; `paper` is the paper's ImageNet setting
 * (shared/docs/JCL.md, "Hyper-parameters"), which is also what the schema defaults are.
 */
import type { TrainingConfigInput } from '../config/schema.ts';

export const PRESETS = Object.freeze({
  demo: {
    model: { arch: 'resnet-tiny', embedDim: 64 },
    jcl: { positives: 3, lambda: 4, temperature: 0.2, queueSize: 512, keyMomentum: 0.99 },
    optim: { batchSize: 64, epochs: 6, lr: 0.1, weightDecay: 5e-4, warmupEpochs: 0 },
    data: {
      format: 'synthetic',
      imageSize: 16,
      syntheticClasses: 10,
      syntheticPerClass: 200,
      augment: { blurProb: 0.2 },
    },
    checkpoint: { everyEpochs: 1, keepLast: 3 },
    eval: { knnK: 20, knnEveryEpochs: 2 },
    runtime: { outDir: 'runs/demo' },
  },
  paper: {
    model: { arch: 'resnet50', embedDim: 128 },
    jcl: { positives: 5, lambda: 4, temperature: 0.2, queueSize: 65536, keyMomentum: 0.999 },
    optim: { batchSize: 512, epochs: 200, lr: 0.06, weightDecay: 1e-4 },
    data: { format: 'image-folder', imageSize: 224 },
  },
  'fashion-mnist': {
    model: { arch: 'resnet18-cifar', embedDim: 128 },
    jcl: { positives: 4, lambda: 4, temperature: 0.2, queueSize: 4096, keyMomentum: 0.99 },
    optim: { batchSize: 256, epochs: 50, lr: 0.06, weightDecay: 5e-4 },
    data: { format: 'fashion-mnist', imageSize: 28, augment: { blurProb: 0 } },
    eval: { knnK: 200, knnEveryEpochs: 5 },
    runtime: { outDir: 'runs/fashion-mnist' },
  },
}) as unknown as Readonly<Record<string, TrainingConfigInput>>;
