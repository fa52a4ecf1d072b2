/**
 * The native TensorFlow backend in tests (issue 14). CI installs it (scripts/test-all.sh runs
 * `npm run setup:tensorflow`) and sets JCL_REQUIRE_NATIVE=1 (CI=true counts too): then every native test
 * runs, and fails with the setup hint when @tensorflow/tfjs-node is missing. Only without either variable
 * and without the package (a checkout that never ran the setup) are they skipped, and say so.
 */
import { createRequire } from 'node:module';
import { describe } from 'vitest';
import * as tf from '../../../worker/src/tf.ts';
import { initBackend } from '../../../worker/src/backend/select-backend.ts';
import { parseTrainingConfig } from '../../../worker/src/config/parse-config.ts';
import type { ModelArch } from '../../../worker/src/config/schema.ts';
import { LocalCollective } from '../../../worker/src/distributed/collective.ts';
import { createTrainState } from '../../../worker/src/train/train-state.ts';
import type { StepBatch, StepState } from '../../../worker/src/train/train-step.ts';
import { Rng } from '../../../worker/src/util/rng.ts';

/** Whether this run must exercise the native backend (CI) rather than skip it. */
export const NATIVE_REQUIRED = process.env.JCL_REQUIRE_NATIVE === '1' || process.env.CI === 'true';

function nativeInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

const RUN = NATIVE_REQUIRED || nativeInstalled();
if (!RUN)
  console.warn(
    'native TensorFlow tests skipped: @tensorflow/tfjs-node is not installed and JCL_REQUIRE_NATIVE is not 1 (npm run setup:tensorflow installs it)',
  );

/** `describe` when the native tests run here, `describe.skip` otherwise (see the module comment). */
export const describeNative = RUN ? describe : describe.skip;

/** Load tfjs-node and make 'tensorflow' the active backend; throws the setup hint when it is missing. */
export async function useNativeBackend(): Promise<void> {
  await initBackend('tensorflow');
}

/** A tiny model config for step tests: `arch` with a 16-d head, queue 32, M keys, batch n. */
export function stepConfig(arch: ModelArch, n: number, m: number) {
  return parseTrainingConfig({
    model: { arch, embedDim: 16, headHidden: 0, headBatchNorm: false },
    jcl: { positives: m, queueSize: 32 },
    optim: { batchSize: n },
    runtime: { seed: 11 },
  });
}

/** Fresh train state for `arch` on the active backend. */
export function stepState(arch: ModelArch, n: number, m: number): StepState {
  return createTrainState(stepConfig(arch, n, m), 3, new LocalCollective());
}

/** A seeded batch of n query images and m x n key crops of size x size x 3, N(0, 1). */
export function stepBatch(seed: number, n: number, m: number, size: number): StepBatch {
  const rng = new Rng(seed);
  const normal = (len: number) => Float32Array.from({ length: len }, () => rng.normal());
  return {
    query: normal(n * size * size * 3),
    keys: normal(m * n * size * size * 3),
    n,
    m,
    size,
    channels: 3,
  };
}

/** Every query-encoder tensor (weights, BN running statistics), copied out. */
export async function readParams(st: StepState): Promise<Map<string, Float32Array>> {
  return new Map([...(await st.query.params.read())].map(([k, v]) => [k, Float32Array.from(v.data)]));
}

/** The largest |a - b| over a pair of arrays, and the largest |b| (the scale an error is judged against). */
export function maxErr(a: Float32Array, b: Float32Array): { err: number; scale: number } {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { err, scale };
}

export { tf };
