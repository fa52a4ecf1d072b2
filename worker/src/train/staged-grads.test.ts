import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../tf.ts';
import { parseTrainingConfig } from '../config/parse-config.ts';
import { buildEncoder, type Encoder } from '../model/encoder.ts';
import { Rng } from '../util/rng.ts';
import { RESNET_STAGES, resnetStages, stagedVariableGrads } from './staged-grads.ts';

let enc: Encoder;
let x: tf.Tensor4D;
let trainable: ReturnType<Encoder['params']['trainable']>;
const loss = () => tf.mean(tf.square(enc.embed(x, { training: true }))) as tf.Scalar;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const cfg = parseTrainingConfig({ model: { arch: 'resnet-tiny', embedDim: 8 }, data: { imageSize: 8 } });
  enc = buildEncoder(cfg.model, 3, 5);
  const rng = new Rng(3);
  x = tf.tensor4d(
    Float32Array.from({ length: 4 * 8 * 8 * 3 }, () => rng.normal()),
    [4, 8, 8, 3],
  );
  trainable = enc.params.trainable();
});

describe('stagedVariableGrads (one tape, walked stage by stage)', () => {
  it('gives bitwise the gradients of tf.variableGrads, each stage final when handed out, head first', () => {
    const before = tf.memory().numTensors;
    const ref = tf.variableGrads(
      loss,
      trainable.map((p) => p.variable),
    );
    const stages = resnetStages(trainable);
    const seen: { stage: number; values: Float32Array[] }[] = [];
    const got = stagedVariableGrads(loss, stages, (stage, grads) =>
      seen.push({ stage, values: grads.map((g) => g!.dataSync() as Float32Array) }),
    );
    // Backward order: head, layer3 .. layer1 (the stem last); resnet-tiny has no layer4, and a stage
    // without gradients is final from the start, so it is handed out first.
    expect(seen.map((s) => RESNET_STAGES[s.stage])).toEqual(['layer4', 'head', 'layer3', 'layer2', 'layer1']);
    expect(stages[3]).toEqual([]);
    expect((got.value.dataSync() as Float32Array)[0]).toBe((ref.value.dataSync() as Float32Array)[0]);
    expect(Object.keys(got.grads).sort()).toEqual(Object.keys(ref.grads).sort());
    for (const p of trainable) {
      const want = ref.grads[p.variable.name].dataSync() as Float32Array;
      expect(Buffer.from((got.grads[p.variable.name].dataSync() as Float32Array).buffer)).toEqual(
        Buffer.from(want.buffer),
      );
    }
    // What a stage handed out is what the walk ended with: later stages' nodes do not change it.
    for (const { stage, values } of seen)
      stages[stage].forEach((v, i) => {
        expect(Buffer.from(values[i].buffer)).toEqual(
          Buffer.from((got.grads[v.name].dataSync() as Float32Array).buffer),
        );
      });
    tf.dispose([ref.value, got.value, ...Object.values(ref.grads), ...Object.values(got.grads)]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a loss that is not a scalar, and stages without a trainable variable', () => {
    const vars = trainable.map((p) => p.variable);
    expect(() =>
      stagedVariableGrads(() => enc.embed(x, { training: true }) as unknown as tf.Scalar, [vars]),
    ).toThrow('f must return a scalar tensor');
    expect(() => stagedVariableGrads(loss, [[]])).toThrow('no trainable variable in any stage');
  });
});
