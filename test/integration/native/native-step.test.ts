/**
 * Every architecture on the native TensorFlow backend against tfjs-backend-cpu (issue 14), from the same
 * seeded parameters and data on both. The native backend pads differently (padding.ts: 'same' or pad +
 * 'valid' instead of explicit padding) and TensorFlow/oneDNN sums in another order, so results agree to
 * float32 rounding amplified through the network, not bit for bit. Two checks per architecture:
 *
 * 1. One full JCL step (query forward/backward, M key crops, loss, SGD, key momentum, queue): the loss
 *    terms, and the change of every query-encoder tensor (weights and BN running statistics).
 *    resnet-tiny and resnet18-cifar: loss terms within 1e-4 relative, each tensor's change within 2e-3 of
 *    its largest change (the wasm path's bound, wasm-kernels/training-step.test.ts). resnet18 and
 *    resnet50 at the sizes the cpu backend can afford (16 px, batch 4) end in 1x1 maps, where training-mode
 *    BN normalises 4 values per channel, many near-equal after ReLU: 1/sqrt(var + eps) amplifies rounding
 *    so much that two trusted backends disagree too (measured for resnet50: cpu vs wasm 0.8% in the loss,
 *    cpu vs tensorflow 1.0%, per-tensor updates by more than 100%). There the step must run, update every
 *    tensor with finite values and give the loss and L_cls within 5e-2 (L_jcl reported only); the precise
 *    check of their kernels is 2.
 * 2. The gradient of sum(features * r) w.r.t. every backbone weight with BN in inference mode, which is
 *    well-conditioned: features within 1e-4, each gradient within 2e-3 of its largest entry, at 16 px
 *    (8 px for the CIFAR stems, which keep full resolution through layer1)
 *    (the ImageNet stems' 7x7 stride-2 conv and 3x3 stride-2 max-pool padded by pad + 'valid', every
 *    strided conv).
 */
import { beforeAll, expect, it } from 'vitest';
import type { ModelArch } from '../../../worker/src/config/schema.ts';
import { buildEncoder, isBackboneParam } from '../../../worker/src/model/encoder.ts';
import { disposeTrainState } from '../../../worker/src/train/train-state.ts';
import { runTrainStep } from '../../../worker/src/train/train-step.ts';
import {
  describeNative,
  maxErr,
  readParams,
  stepBatch,
  stepState,
  tf,
  useNativeBackend,
} from './native-backend.ts';

const HP = { lr: 0.1, ratio: 2, tau: 0.2, keyMomentum: 0.9 };

async function stepOn(backend: 'cpu' | 'tensorflow', arch: ModelArch, n: number, m: number, size: number) {
  await tf.setBackend(backend);
  const st = stepState(arch, n, m);
  const before = await readParams(st);
  const metrics = await runTrainStep(st, stepBatch(7, n, m, size), HP);
  const after = await readParams(st);
  disposeTrainState(st);
  const updates = new Map([...after].map(([k, v]) => [k, v.map((x, i) => x - before.get(k)![i])]));
  return { metrics, updates };
}

/** Features [2, D] and d(sum(features * r))/d(backbone weights), BN in inference mode, on `backend`. */
async function inferenceGradsOn(backend: 'cpu' | 'tensorflow', arch: ModelArch, size: number) {
  await tf.setBackend(backend);
  const enc = buildEncoder({ arch, embedDim: 16, headHidden: 0, headBatchNorm: false }, 3, 11);
  const weights = enc.params.trainable().filter((e) => isBackboneParam(e.name));
  let out: { features: Float32Array; grads: Map<string, Float32Array> } | undefined;
  tf.tidy(() => {
    const x = tf.tensor4d(stepBatch(5, 2, 1, size).query, [2, size, size, 3]);
    const r = tf.randomNormal([2, enc.featureDim], 0, 1, 'float32', 3);
    const features = enc.features(x, { training: false });
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(enc.features(x, { training: false }), r)) as tf.Scalar,
      weights.map((e) => e.variable),
    );
    out = {
      features: features.dataSync() as Float32Array,
      grads: new Map(weights.map((e) => [e.name, grads[e.variable.name].dataSync() as Float32Array])),
    };
  });
  enc.params.dispose();
  return out!;
}

describeNative('every architecture on the native backend against tfjs-backend-cpu', () => {
  beforeAll(useNativeBackend);

  it.each([
    // arch, batch n, keys M, image size, loss rtol, update rtol (null: ill-conditioned, see the header)
    ['resnet-tiny', 4, 2, 16, 1e-4, 2e-3],
    ['resnet18-cifar', 4, 2, 16, 1e-4, 2e-3],
    ['resnet18', 4, 2, 16, 5e-2, null],
    ['resnet50', 4, 2, 16, 5e-2, null],
  ] as const)(
    'a JCL step of %s (batch %i, M = %i, %i px): loss within %d',
    async (arch, n, m, size, lossRtol, updateRtol) => {
      const want = await stepOn('cpu', arch, n, m, size);
      const got = await stepOn('tensorflow', arch, n, m, size);
      // Ill-conditioned rows bound the loss and its InfoNCE term; L_jcl, the small covariance term, takes the
      // amplified BN rounding relative to its own size (resnet50 in CI: beyond 5e-2) and is only reported.
      const bounded =
        updateRtol === null ? (['loss', 'lossCls'] as const) : (['loss', 'lossCls', 'lossJcl'] as const);
      for (const key of ['loss', 'lossCls', 'lossJcl'] as const) {
        const rel = Math.abs(got.metrics[key] - want.metrics[key]) / Math.abs(want.metrics[key]);
        console.log(
          `${arch} ${key}: cpu ${want.metrics[key]}, tensorflow ${got.metrics[key]}, relative ${rel.toExponential(2)}`,
        );
        if ((bounded as readonly string[]).includes(key))
          expect({ key, ok: rel <= lossRtol }).toEqual({ key, ok: true });
      }
      expect([...got.updates.keys()].sort()).toEqual([...want.updates.keys()].sort());
      let worst = { name: '', rel: 0 };
      for (const [name, w] of want.updates) {
        const g = got.updates.get(name)!;
        expect({ name, finite: g.every(Number.isFinite), moved: g.some((v) => v !== 0) }).toEqual({
          name,
          finite: true,
          moved: true,
        });
        const { err, scale } = maxErr(g, w);
        const rel = scale === 0 ? err : err / scale;
        if (rel > worst.rel) worst = { name, rel };
        if (updateRtol !== null) expect({ name, ok: rel <= updateRtol }).toEqual({ name, ok: true });
      }
      console.log(
        `${arch} step: loss ${got.metrics.loss} (cpu ${want.metrics.loss}); worst update ${worst.name} ${worst.rel.toExponential(2)}`,
      );
    },
    900_000,
  );

  it.each([
    // CIFAR stems keep full resolution through layer1: 8 px keeps the cpu side affordable
    ['resnet-tiny', 8],
    ['resnet18-cifar', 8],
    ['resnet18', 16],
    ['resnet50', 16],
  ] as const)(
    '%s backbone gradients with BN in inference mode (%i px) within 2e-3',
    async (arch, size) => {
      const want = await inferenceGradsOn('cpu', arch, size);
      const got = await inferenceGradsOn('tensorflow', arch, size);
      const f = maxErr(got.features, want.features);
      expect(f.err).toBeLessThanOrEqual(1e-4 * f.scale);
      let worst = 0;
      for (const [name, w] of want.grads) {
        const { err, scale } = maxErr(got.grads.get(name)!, w);
        worst = Math.max(worst, err / scale);
        expect({ name, ok: scale > 0 && err <= 2e-3 * scale }).toEqual({ name, ok: true });
      }
      console.log(
        `${arch} inference gradients: features ${(f.err / f.scale).toExponential(2)}, worst ${worst.toExponential(2)}`,
      );
    },
    900_000,
  );

  it('leaves tf.memory().numTensors unchanged across steps', async () => {
    await tf.setBackend('tensorflow');
    const st = stepState('resnet-tiny', 4, 2);
    await runTrainStep(st, stepBatch(1, 4, 2, 16), HP); // the first step creates the SGD momentum buffers
    const after1 = tf.memory().numTensors;
    for (let s = 2; s <= 4; s++) await runTrainStep(st, stepBatch(s, 4, 2, 16), HP);
    expect(tf.memory().numTensors).toBe(after1);
    disposeTrainState(st);
  });
});
