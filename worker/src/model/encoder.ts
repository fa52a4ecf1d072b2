/**
 * An encoder = backbone + MoCo v2 projection head (fc -> ReLU -> fc, d = embedDim). The query and the
 * momentum key encoder are two instances built from the same seed, so they start identical
 * (MoCo: "param_k.data.copy_(param_q.data)").
 */
import * as tf from '../tf.ts';
import type { TrainingConfig } from '../config/schema.ts';
import { Rng } from '../util/rng.ts';
import { batchNorm, dense, type ForwardContext } from './layers.ts';
import { ParamStore } from './params.ts';
import { buildResNet } from './resnet.ts';

export interface Encoder {
  params: ParamStore;
  featureDim: number;
  embedDim: number;
  /** Backbone features after global average pooling: [N, featureDim]. */
  features(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D;
  /** Projection head output before l2 normalisation: [N, embedDim]. */
  embed(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D;
}

/** Builds an encoder with weights drawn from `seed`; the same seed gives bitwise-identical weights. */
export function buildEncoder(model: TrainingConfig['model'], inChannels: number, seed: number): Encoder {
  const rng = new Rng(seed);
  const params = new ParamStore();
  const backbone = buildResNet(params, rng, model.arch, inChannels);
  const hidden = model.headHidden > 0 ? model.headHidden : backbone.featureDim;
  const fc1 = dense(params, rng, 'head.0', backbone.featureDim, hidden);
  // Optional BN in the projection head (SimCLR / MoCo v3 style); MoCo v2, and so the paper, has none.
  const bn = model.headBatchNorm ? batchNorm(params, 'head.1', hidden) : null;
  const fc2 = dense(params, rng, 'head.2', hidden, model.embedDim);
  return {
    params,
    featureDim: backbone.featureDim,
    embedDim: model.embedDim,
    features: (x, ctx) => backbone.forward(x, ctx),
    embed: (x, ctx) => {
      const h = fc1(backbone.forward(x, ctx)); // [N, hidden]
      return fc2(tf.relu(bn ? bn(h, ctx) : h));
    },
  };
}

/** Names of the backbone parameters (everything but the head): what linear evaluation and export keep. */
export function isBackboneParam(name: string): boolean {
  return !name.startsWith('head.');
}
