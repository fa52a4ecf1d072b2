/**
 * Named starting points for a configuration. `demo` is the embedded default of `jcl train`: a run that
 * finishes in minutes on a laptop CPU and visibly learns; `paper` is the paper's ImageNet setting
 * (shared/docs/JCL.md, "Hyper-parameters"), which is also what the schema defaults are.
 */
import type { TrainingConfigInput } from '../config/schema.ts';

export const PRESETS = Object.freeze({
  demo: {
    // Tuned on this repository's synthetic data (docs/BENCHMARKS.md, "Training core"): a short run whose
    // k-NN accuracy clearly beats the random-init backbone. BN in the projection head (not in MoCo v2)
    // kept the tiny head from collapsing at initialisation; without the 2-epoch warm-up the first
    // full-lr steps pushed the embeddings together and the loss stayed near log(K+1). 15 epochs (10 until
    // session 3): after 10 the k-NN gain over random init ranged +6 to +14 points across seeds 1-3 and
    // float rounding (Winograd kernels); after 15, +10 to +16 (docs/BENCHMARKS.md, "Training core").
    model: { arch: 'resnet-tiny', embedDim: 32, headBatchNorm: true },
    jcl: { positives: 3, lambda: 4, temperature: 0.2, queueSize: 512, keyMomentum: 0.99 },
    optim: { batchSize: 64, epochs: 15, lr: 0.06, weightDecay: 5e-4, warmupEpochs: 2 },
    data: {
      format: 'synthetic',
      imageSize: 16,
      syntheticClasses: 10,
      syntheticPerClass: 100,
      augment: { blurProb: 0 },
    },
    checkpoint: { everyEpochs: 1, keepLast: 3 },
    eval: { knnK: 20, knnEveryEpochs: 5 },
    runtime: { outDir: 'runs/demo', seed: 1 },
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
