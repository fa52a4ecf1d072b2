/**
 * Checkpoints cross backends (issue 14): a checkpoint written on wasm resumes on the native TensorFlow
 * backend and one written there resumes on wasm, restoring every tensor bit for bit (both encoders, SGD
 * momentum, queue and pointer), and the next step from it gives the same loss on both (1e-4 relative).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { initBackend } from '../../../worker/src/backend/select-backend.ts';
import { loadLatestCheckpoint, saveCheckpoint } from '../../../worker/src/train/checkpoint-store.ts';
import { LocalCheckpointStorage } from '../../../worker/src/train/local-checkpoint-storage.ts';
import {
  captureCheckpoint,
  disposeTrainState,
  restoreCheckpoint,
} from '../../../worker/src/train/train-state.ts';
import { runTrainStep, type StepState } from '../../../worker/src/train/train-step.ts';
import { describeNative, stepBatch, stepConfig, stepState, tf, useNativeBackend } from './native-backend.ts';

const HP = { lr: 0.1, ratio: 2, tau: 0.2, keyMomentum: 0.9 };
const CFG = stepConfig('resnet-tiny', 4, 2);
const POS = { epoch: 0, stepInEpoch: 2, globalStep: 2 };

/** Every tensor of a state as plain arrays, by checkpoint name. */
async function snapshot(st: StepState): Promise<Record<string, number[]>> {
  const ckpt = await captureCheckpoint(st, CFG, POS, {});
  return Object.fromEntries([...ckpt.tensors].map(([k, v]) => [k, Array.from(v.data)]));
}

/** Two steps on `from`, save; restore on `to` into a fresh state; one more step on each. */
async function crossBackends(from: 'wasm' | 'tensorflow', to: 'wasm' | 'tensorflow') {
  const dir = new LocalCheckpointStorage(mkdtempSync(join(tmpdir(), `ckpt-${from}-${to}-`)));
  await tf.setBackend(from);
  const src = stepState('resnet-tiny', 4, 2);
  for (const seed of [1, 2]) await runTrainStep(src, stepBatch(seed, 4, 2, 16), HP);
  await saveCheckpoint(dir, await captureCheckpoint(src, CFG, POS, { backend: from }), 2);
  const saved = await snapshot(src);

  await tf.setBackend(to);
  const dst = stepState('resnet-tiny', 4, 2);
  const pos = restoreCheckpoint(dst, (await loadLatestCheckpoint(dir, () => undefined))!.ckpt);
  const restored = await snapshot(dst);
  const next = await runTrainStep(dst, stepBatch(3, 4, 2, 16), HP);
  disposeTrainState(dst);

  await tf.setBackend(from);
  const reference = await runTrainStep(src, stepBatch(3, 4, 2, 16), HP);
  disposeTrainState(src);
  return { pos, saved, restored, next, reference };
}

describeNative('checkpoints between wasm and the native backend', () => {
  beforeAll(async () => {
    await initBackend('wasm');
    await useNativeBackend();
  });

  it.each([
    ['wasm', 'tensorflow'],
    ['tensorflow', 'wasm'],
  ] as const)('written on %s, resumed on %s', async (from, to) => {
    const r = await crossBackends(from, to);
    expect(r.pos).toEqual(POS);
    expect(Object.keys(r.restored).sort()).toEqual(Object.keys(r.saved).sort());
    expect(Object.keys(r.saved).some((k) => k.startsWith('sgd/'))).toBe(true);
    for (const name of Object.keys(r.saved))
      expect({ name, v: r.restored[name] }).toEqual({ name, v: r.saved[name] });
    const rel = Math.abs(r.next.loss - r.reference.loss) / Math.abs(r.reference.loss);
    expect(rel).toBeLessThanOrEqual(1e-4);
  });
});
