/**
 * ResNet-18 for CIFAR (3x3 stem, no max-pool; stages of 64/128/256/512 channels, stride-2 downsamples
 * with 1x1 shortcut convolutions) written with plain tf.* ops, so kernel benchmarks exercise exactly
 * the kernels a training step needs without depending on the model code (worker/src/model).
 */
import * as tf from '@tensorflow/tfjs-core';

/** One convolution of the network, for per-kernel benchmarks. */
export interface ConvSpec {
  name: string;
  /** Input: [N, H, W, Cin]. */
  inShape: [number, number, number, number];
  /** Filter: [k, k, Cin, Cout]. */
  filterShape: [number, number, number, number];
  stride: number;
  pad: 'same' | 'valid';
}

/** The distinct convolution shapes of resnet18-cifar at `batch`, with how often each occurs per step. */
export function resnet18ConvShapes(batch: number): Array<ConvSpec & { count: number }> {
  const c = (
    name: string,
    hw: number,
    cin: number,
    cout: number,
    k: number,
    stride: number,
    count: number,
  ) => ({
    name,
    inShape: [batch, hw, hw, cin] as [number, number, number, number],
    filterShape: [k, k, cin, cout] as [number, number, number, number],
    stride,
    pad: (k === 1 ? 'valid' : 'same') as 'same' | 'valid',
    count,
  });
  return [
    c('stem 3x3 3->64 @32', 32, 3, 64, 3, 1, 1),
    c('3x3 64->64 @32', 32, 64, 64, 3, 1, 4),
    c('3x3 64->128 s2 @32', 32, 64, 128, 3, 2, 1),
    c('1x1 64->128 s2 @32', 32, 64, 128, 1, 2, 1),
    c('3x3 128->128 @16', 16, 128, 128, 3, 1, 3),
    c('3x3 128->256 s2 @16', 16, 128, 256, 3, 2, 1),
    c('1x1 128->256 s2 @16', 16, 128, 256, 1, 2, 1),
    c('3x3 256->256 @8', 8, 256, 256, 3, 1, 3),
    c('3x3 256->512 s2 @8', 8, 256, 512, 3, 2, 1),
    c('1x1 256->512 s2 @8', 8, 256, 512, 1, 2, 1),
    c('3x3 512->512 @4', 4, 512, 512, 3, 1, 3),
  ];
}

/** Trainable parameters by name. */
export type Params = Record<string, tf.Variable>;

/** He-initialised parameters for resnet18-cifar with `classes` outputs. */
export function createResnet18Params(classes = 10, seed = 1): Params {
  const p: Params = {};
  let s = seed;
  const conv = (name: string, k: number, cin: number, cout: number) => {
    p[name] = tf.variable(
      tf.randomNormal([k, k, cin, cout], 0, Math.sqrt(2 / (k * k * cin)), 'float32', s++),
      true,
      name,
    );
  };
  const bn = (name: string, ch: number) => {
    p[`${name}.gamma`] = tf.variable(tf.ones([ch]), true, `${name}.gamma`);
    p[`${name}.beta`] = tf.variable(tf.zeros([ch]), true, `${name}.beta`);
  };
  conv('stem', 3, 3, 64);
  bn('stem.bn', 64);
  let cin = 64;
  for (const [stage, cout] of [64, 128, 256, 512].entries()) {
    for (const block of [0, 1]) {
      const n = `s${stage}b${block}`;
      conv(`${n}.c1`, 3, cin, cout);
      bn(`${n}.bn1`, cout);
      conv(`${n}.c2`, 3, cout, cout);
      bn(`${n}.bn2`, cout);
      if (cin !== cout) {
        conv(`${n}.sc`, 1, cin, cout);
        bn(`${n}.bnsc`, cout);
      }
      cin = cout;
    }
  }
  p['fc.w'] = tf.variable(
    tf.randomNormal([512, classes], 0, Math.sqrt(1 / 512), 'float32', s++),
    true,
    'fc.w',
  );
  p['fc.b'] = tf.variable(tf.zeros([classes]), true, 'fc.b');
  return p;
}

/** Training-mode batch norm over N, H, W. x: [N, H, W, C] -> [N, H, W, C]. */
function batchNorm(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2]); // mean, variance: [C]
  return tf.batchNorm(x, mean, variance, beta, gamma, 1e-5) as tf.Tensor4D;
}

/** Forward pass. x: [N, 32, 32, 3] -> logits: [N, classes]. */
export function resnet18Forward(p: Params, x: tf.Tensor4D): tf.Tensor2D {
  const conv = (h: tf.Tensor4D, name: string, stride: number, pad: 'same' | 'valid' = 'same') =>
    tf.conv2d(h, p[name] as tf.Tensor4D, stride, pad);
  const bn = (h: tf.Tensor4D, name: string) =>
    batchNorm(h, p[`${name}.gamma`] as tf.Tensor1D, p[`${name}.beta`] as tf.Tensor1D);
  let h = tf.relu(bn(conv(x, 'stem', 1), 'stem.bn'));
  for (let stage = 0; stage < 4; stage++) {
    for (const block of [0, 1]) {
      const n = `s${stage}b${block}`;
      const stride = stage > 0 && block === 0 ? 2 : 1;
      const r = tf.relu(bn(conv(h, `${n}.c1`, stride), `${n}.bn1`));
      const main = bn(conv(r, `${n}.c2`, 1), `${n}.bn2`);
      const shortcut = p[`${n}.sc`] ? bn(conv(h, `${n}.sc`, stride, 'valid'), `${n}.bnsc`) : h;
      h = tf.relu(tf.add(main, shortcut));
    }
  }
  const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D; // pooled: [N, 512]
  return tf.add(tf.matMul(pooled, p['fc.w'] as tf.Tensor2D), p['fc.b']) as tf.Tensor2D;
}

/** Softmax cross-entropy of the forward pass. labels: [N, classes] one-hot -> scalar. */
export function resnet18Loss(p: Params, x: tf.Tensor4D, labels: tf.Tensor2D): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(labels, resnet18Forward(p, x)) as tf.Scalar;
}
