/**
 * ResNet backbones (He et al. 2016) as used by MoCo/JCL: torchvision's ResNet-18/50 with ImageNet
 * stems, a CIFAR-style ResNet-18 (3x3 stem, no max-pool) for 32x32 and 28x28 inputs, and a tiny ResNet
 * for tests and the demo. Output: globally average-pooled features [N, featureDim].
 */
import * as tf from '../tf.ts';
import type { ModelArch } from '../config/schema.ts';
import { Rng } from '../util/rng.ts';
import { batchNorm, conv2d, maxPool2d, type ForwardContext, type Layer } from './layers.ts';
import { ParamStore } from './params.ts';

export interface Backbone {
  featureDim: number;
  forward(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D;
}

export interface ArchSpec {
  block: 'basic' | 'bottleneck';
  layers: number[];
  widths: number[];
  stem: 'imagenet' | 'cifar';
  stemWidth: number;
}

export const ARCHS: Record<ModelArch, ArchSpec> = {
  resnet18: {
    block: 'basic',
    layers: [2, 2, 2, 2],
    widths: [64, 128, 256, 512],
    stem: 'imagenet',
    stemWidth: 64,
  },
  resnet50: {
    block: 'bottleneck',
    layers: [3, 4, 6, 3],
    widths: [64, 128, 256, 512],
    stem: 'imagenet',
    stemWidth: 64,
  },
  'resnet18-cifar': {
    block: 'basic',
    layers: [2, 2, 2, 2],
    widths: [64, 128, 256, 512],
    stem: 'cifar',
    stemWidth: 64,
  },
  'resnet-tiny': { block: 'basic', layers: [1, 1, 1], widths: [16, 32, 64], stem: 'cifar', stemWidth: 16 },
};

/** Builds a backbone's parameters into `ps` (names like torchvision's) and returns its forward. */
export function buildResNet(ps: ParamStore, rng: Rng, arch: ModelArch, inChannels: number): Backbone {
  const spec = ARCHS[arch];
  const stemConv =
    spec.stem === 'imagenet'
      ? conv2d(ps, rng, 'conv1', inChannels, spec.stemWidth, 7, 2)
      : conv2d(ps, rng, 'conv1', inChannels, spec.stemWidth, 3, 1);
  const stemBn = batchNorm(ps, 'bn1', spec.stemWidth);
  const expansion = spec.block === 'bottleneck' ? 4 : 1;
  const blocks: Layer[] = [];
  let cin = spec.stemWidth;
  spec.layers.forEach((count, stage) => {
    for (let i = 0; i < count; i++) {
      const stride = i === 0 && stage > 0 ? 2 : 1;
      const name = `layer${stage + 1}.${i}`;
      const width = spec.widths[stage];
      blocks.push(
        spec.block === 'basic'
          ? basicBlock(ps, rng, name, cin, width, stride)
          : bottleneck(ps, rng, name, cin, width, stride),
      );
      cin = width * expansion;
    }
  });
  return {
    featureDim: cin,
    forward(x, ctx) {
      let h = tf.relu(stemBn(stemConv(x, ctx), ctx));
      if (spec.stem === 'imagenet') h = maxPool2d(h, 3, 2, 1);
      for (const block of blocks) h = block(h, ctx);
      return tf.mean(h, [1, 2]) as tf.Tensor2D; // global average pool: [N, C]
    },
  };
}

function basicBlock(
  ps: ParamStore,
  rng: Rng,
  name: string,
  cin: number,
  width: number,
  stride: number,
): Layer {
  const c1 = conv2d(ps, rng, `${name}.conv1`, cin, width, 3, stride);
  const b1 = batchNorm(ps, `${name}.bn1`, width);
  const c2 = conv2d(ps, rng, `${name}.conv2`, width, width, 3, 1);
  const b2 = batchNorm(ps, `${name}.bn2`, width);
  const shortcut = downsample(ps, rng, name, cin, width, stride);
  return (x, ctx) => {
    const h = b2(c2(tf.relu(b1(c1(x, ctx), ctx)), ctx), ctx);
    return tf.relu(tf.add(h, shortcut ? shortcut(x, ctx) : x));
  };
}

function bottleneck(
  ps: ParamStore,
  rng: Rng,
  name: string,
  cin: number,
  width: number,
  stride: number,
): Layer {
  const cout = width * 4;
  const c1 = conv2d(ps, rng, `${name}.conv1`, cin, width, 1, 1);
  const b1 = batchNorm(ps, `${name}.bn1`, width);
  const c2 = conv2d(ps, rng, `${name}.conv2`, width, width, 3, stride); // torchvision v1.5: stride on the 3x3
  const b2 = batchNorm(ps, `${name}.bn2`, width);
  const c3 = conv2d(ps, rng, `${name}.conv3`, width, cout, 1, 1);
  const b3 = batchNorm(ps, `${name}.bn3`, cout);
  const shortcut = downsample(ps, rng, name, cin, cout, stride);
  return (x, ctx) => {
    const h = b3(c3(tf.relu(b2(c2(tf.relu(b1(c1(x, ctx), ctx)), ctx), ctx)), ctx), ctx);
    return tf.relu(tf.add(h, shortcut ? shortcut(x, ctx) : x));
  };
}

function downsample(
  ps: ParamStore,
  rng: Rng,
  name: string,
  cin: number,
  cout: number,
  stride: number,
): Layer | null {
  if (stride === 1 && cin === cout) return null;
  const conv = conv2d(ps, rng, `${name}.downsample.0`, cin, cout, 1, stride);
  const bn = batchNorm(ps, `${name}.downsample.1`, cout);
  return (x, ctx) => bn(conv(x, ctx), ctx);
}
