/**
 * Exports the trained backbone (no projection head) in the TensorFlow.js LayersModel format
 * (model.json + weights.bin), loadable with tf.loadLayersModel for downstream use. The Keras graph
 * mirrors resnet.ts exactly: PyTorch-style symmetric padding becomes ZeroPadding2D + 'valid' layers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tfjs from '@tensorflow/tfjs';
import type { TrainingConfig } from '../config/schema.ts';
import type { Encoder } from './encoder.ts';
import { ARCHS } from './resnet.ts';

type SymbolicTensor = tfjs.SymbolicTensor;

/** Builds the Keras-style graph and the ordered list of our parameter names for its weights. */
export function buildLayersBackbone(
  arch: TrainingConfig['model']['arch'],
  size: number,
  channels: number,
): { model: tfjs.LayersModel; layerWeights: Map<string, string[]> } {
  const spec = ARCHS[arch];
  // Keras layer name -> our parameter names, in the layer's weight order.
  const layerWeights = new Map<string, string[]>();
  const L = tfjs.layers;
  const conv = (
    x: SymbolicTensor,
    name: string,
    filters: number,
    k: number,
    stride: number,
  ): SymbolicTensor => {
    const p = Math.floor(k / 2);
    const padded =
      p > 0
        ? (L.zeroPadding2d({
            padding: [
              [p, p],
              [p, p],
            ],
            name: `${name}.pad`,
          }).apply(x) as SymbolicTensor)
        : x;
    layerWeights.set(name, [`${name}.weight`]);
    return L.conv2d({
      filters,
      kernelSize: k,
      strides: stride,
      padding: 'valid',
      useBias: false,
      name,
    }).apply(padded) as SymbolicTensor;
  };
  const bn = (x: SymbolicTensor, name: string): SymbolicTensor => {
    layerWeights.set(name, [`${name}.weight`, `${name}.bias`, `${name}.running_mean`, `${name}.running_var`]);
    return L.batchNormalization({ axis: -1, epsilon: 1e-5, momentum: 0.9, name }).apply(x) as SymbolicTensor;
  };
  const relu = (x: SymbolicTensor) => L.reLU().apply(x) as SymbolicTensor;
  const input = tfjs.input({ shape: [size, size, channels], name: 'image' });
  let h = relu(
    bn(
      conv(
        input,
        'conv1',
        spec.stemWidth,
        spec.stem === 'imagenet' ? 7 : 3,
        spec.stem === 'imagenet' ? 2 : 1,
      ),
      'bn1',
    ),
  );
  if (spec.stem === 'imagenet') {
    h = L.zeroPadding2d({
      padding: [
        [1, 1],
        [1, 1],
      ],
    }).apply(h) as SymbolicTensor; // after ReLU, zero = -inf for max
    h = L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid' }).apply(h) as SymbolicTensor;
  }
  const expansion = spec.block === 'bottleneck' ? 4 : 1;
  let cin = spec.stemWidth;
  spec.layers.forEach((count, stage) => {
    for (let i = 0; i < count; i++) {
      const stride = i === 0 && stage > 0 ? 2 : 1;
      const name = `layer${stage + 1}.${i}`;
      const width = spec.widths[stage];
      const cout = width * expansion;
      let y: SymbolicTensor;
      if (spec.block === 'basic') {
        y = relu(bn(conv(h, `${name}.conv1`, width, 3, stride), `${name}.bn1`));
        y = bn(conv(y, `${name}.conv2`, width, 3, 1), `${name}.bn2`);
      } else {
        y = relu(bn(conv(h, `${name}.conv1`, width, 1, 1), `${name}.bn1`));
        y = relu(bn(conv(y, `${name}.conv2`, width, 3, stride), `${name}.bn2`));
        y = bn(conv(y, `${name}.conv3`, cout, 1, 1), `${name}.bn3`);
      }
      const shortcut =
        stride !== 1 || cin !== cout
          ? bn(conv(h, `${name}.downsample.0`, cout, 1, stride), `${name}.downsample.1`)
          : h;
      h = relu(L.add().apply([y, shortcut]) as SymbolicTensor);
      cin = cout;
    }
  });
  const features = L.globalAveragePooling2d({ name: 'features' }).apply(h) as SymbolicTensor;
  return {
    model: tfjs.model({ inputs: input, outputs: features, name: `jcl-${arch}-backbone` }),
    layerWeights,
  };
}

/** Copies the encoder's backbone weights into the Keras graph and writes model.json + weights.bin. */
export async function exportBackbone(
  enc: Encoder,
  cfg: TrainingConfig,
  channels: number,
  dir: string,
): Promise<tfjs.LayersModel> {
  const { model, layerWeights } = buildLayersBackbone(cfg.model.arch, cfg.data.imageSize, channels);
  for (const [layer, names] of layerWeights)
    model.getLayer(layer).setWeights(names.map((n) => enc.params.get(n)));
  mkdirSync(dir, { recursive: true });
  await model.save(
    tfjs.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData as ArrayBuffer;
      writeFileSync(join(dir, 'weights.bin'), Buffer.from(weightData));
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: `jcl-operator (TensorFlow.js ${tfjs.version.tfjs})`,
        convertedBy: null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        userDefinedMetadata: {
          arch: cfg.model.arch,
          imageSize: cfg.data.imageSize,
          channels,
          method: cfg.jcl.method,
        },
      };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return model;
}
