/**
 * The fused parameter updates give bit for bit what the plain tf ops give (float32 operations in the same
 * order), on the wasm kernels and on the ops fallback, for sizes with and without a SIMD remainder.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../tf.ts';
import { loadWasmBackend } from '../backend/load-wasm-backend.ts';
import { AXPBY_KERNEL, SGD_MOMENTUM_KERNEL } from '../backend/wasm-kernels/fused-updates.ts';
import { axpby, sgdMomentumStep } from './fused-update.ts';

const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

/** The plain ops of sgd.ts and train-step.ts before fusion. */
function plainSgd(w: tf.Tensor, g: tf.Tensor, buf: tf.Tensor, lr: number, m: number, wd: number) {
  const g1 = wd > 0 ? tf.add(g, tf.mul(w, wd)) : g;
  const b = tf.add(tf.mul(buf, m), g1);
  return [tf.sub(w, tf.mul(b, lr)), b];
}

describe('fused parameter updates', () => {
  beforeAll(async () => {
    await loadWasmBackend();
  });

  it('are registered on the wasm backend', async () => {
    await tf.setBackend('wasm');
    expect([tf.getKernel(SGD_MOMENTUM_KERNEL, 'wasm'), tf.getKernel(AXPBY_KERNEL, 'wasm')]).not.toContain(
      undefined,
    );
  });

  it.each([
    ['wasm', 1, 5e-4],
    ['wasm', 7, 0],
    ['wasm', 4099, 5e-4],
    ['cpu', 4099, 5e-4],
  ] as const)(
    'SGD with momentum on %s, %i elements, wd %f: bit-identical to the ops',
    async (backend, n, wd) => {
      await tf.setBackend(backend);
      tf.tidy(() => {
        const w = tf.randomNormal([n], 0, 1, 'float32', 1);
        const g = tf.randomNormal([n], 0, 1e-2, 'float32', 2);
        const buf = tf.randomNormal([n], 0, 1e-2, 'float32', 3);
        const got = sgdMomentumStep(w, g, buf, 0.06, 0.9, wd);
        const want = plainSgd(w, g, buf, 0.06, 0.9, wd);
        expect(got.map(bits)).toEqual(want.map(bits));
      });
    },
  );

  it.each([
    ['wasm', 3],
    ['wasm', 1030],
    ['cpu', 1030],
  ] as const)('momentum update on %s, %i elements: bit-identical to the ops', async (backend, n) => {
    await tf.setBackend(backend);
    tf.tidy(() => {
      const k = tf.randomNormal([n], 0, 1, 'float32', 4);
      const q = tf.randomNormal([n], 0, 1, 'float32', 5);
      const m = 0.99;
      expect(bits(axpby(k, q, m, 1 - m))).toEqual(bits(tf.add(tf.mul(k, m), tf.mul(q, 1 - m))));
    });
  });
});
