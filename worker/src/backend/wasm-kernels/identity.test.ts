/** The wasm Identity without a copy: a clone shares its source's data and each outlives the other. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { loadWasmBackend } from '../load-wasm-backend.ts';

describe('Identity on wasm', () => {
  beforeAll(async () => {
    await loadWasmBackend();
  });

  it('shares the data with a reference count; disposing either side leaves the other intact', () => {
    const backend = tf.engine().backend;
    const before = backend.numDataIds();
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    const y = tf.engine().runKernel('Identity', { x }) as tf.Tensor;
    expect(y.dataId).toBe(x.dataId);
    expect(backend.numDataIds()).toBe(before + 1);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    const z = tf.clone(y);
    y.dispose();
    expect(Array.from(z.dataSync())).toEqual([1, 2, 3, 4]);
    z.dispose();
    expect(backend.numDataIds()).toBe(before);
  });

  it('keeps string tensors on the stock kernel', () => {
    const s = tf.tensor(['a', 'b']);
    const c = tf.engine().runKernel('Identity', { x: s }) as tf.Tensor;
    expect(c.dataId).not.toBe(s.dataId);
    expect(c.dataSync()).toEqual(s.dataSync());
    tf.dispose([s, c]);
  });
});
