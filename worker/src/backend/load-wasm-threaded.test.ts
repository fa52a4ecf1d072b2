import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers'; // registers the gradient functions of tfjs-core ops
import { parseWasmThreads } from './select-backend.ts';
import { loadWasmBackend } from './load-wasm-backend.ts';
import { JclError } from '../util/errors.ts';
import { setWinogradPolicy } from './wasm-kernels/winograd-conv.ts';

describe('threaded wasm backend in Node', () => {
  it('runs XNNPACK with two threads and computes what the cpu backend computes', async () => {
    const detail = await loadWasmBackend({ threads: 2 });
    expect({ backend: tf.getBackend(), threads: detail.threads }).toEqual({ backend: 'wasm', threads: 2 });
    const run = () =>
      tf.tidy(() => {
        const x = tf.randomUniform([2, 9, 9, 16], -1, 1, 'float32', 1) as tf.Tensor4D;
        const w = tf.randomUniform([3, 3, 16, 8], -1, 1, 'float32', 2) as tf.Tensor4D;
        return tf.conv2d(x, w, 1, 'same').dataSync() as Float32Array;
      });
    const onWasm = run();
    await tf.setBackend('cpu');
    const onCpu = run();
    const maxAbs = onCpu.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const maxErr = onWasm.reduce((m, v, i) => Math.max(m, Math.abs(v - onCpu[i])), 0);
    expect(maxErr).toBeLessThanOrEqual(1e-5 * maxAbs);
  });

  it('runs the Winograd (stride 1 and 2) and patch-product kernels on the shared heap (the threaded module variant)', async () => {
    await loadWasmBackend({ threads: 2 });
    const previous = setWinogradPolicy({
      minChannels: 1,
      minForwardTiles: 1,
      ownGemm: true,
      stridedIm2col: true,
      stride2: true,
      blockTiles: 4,
    });
    try {
      const run = () =>
        tf.tidy(() => {
          const x = tf.randomUniform([2, 10, 7, 8], -1, 1, 'float32', 3) as tf.Tensor4D;
          const w = tf.randomUniform([3, 3, 8, 16], -1, 1, 'float32', 4) as tf.Tensor4D; // our products: 16 % 8 == 0
          // Stride 2: polyphase Winograd forward and filter gradient; 40 output rows (% 4) and a 72-wide patch (% 8)
          // put the input gradient on our patch products.
          const f = (a: tf.Tensor, b: tf.Tensor) =>
            tf.add(
              tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))),
              tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))),
            );
          const [dx, dw] = tf.grads(f)([x, w]);
          return [tf.conv2d(x, w, 1, 'same'), tf.conv2d(x, w, 2, 'same'), dx, dw].map(
            (t) => t.dataSync() as Float32Array,
          );
        });
      await tf.setBackend('wasm');
      expect(
        (tf.engine().backend as unknown as { wasm: { wasmMemory: WebAssembly.Memory } }).wasm.wasmMemory
          .buffer,
      ).toBeInstanceOf(SharedArrayBuffer);
      const onWasm = run();
      await tf.setBackend('cpu');
      const onCpu = run();
      onCpu.forEach((want, k) => {
        const maxAbs = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const maxErr = onWasm[k].reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
        expect({ k, ok: maxErr <= 2e-5 * maxAbs }).toEqual({ k, ok: true });
      });
    } finally {
      setWinogradPolicy(previous);
    }
  });

  it('parses JCL_WASM_THREADS: auto follows the CPU budget, explicit counts are kept', () => {
    const budget = (cpus: number) => () => cpus;
    expect([undefined, '', 'auto'].map((raw) => parseWasmThreads(raw, budget(2)))).toEqual([2, 2, 2]);
    expect(parseWasmThreads('auto', budget(1.5))).toBe(1);
    expect(parseWasmThreads('auto', budget(0.5))).toBe(1);
    expect(parseWasmThreads('auto', budget(64))).toBe(8);
    expect(parseWasmThreads('3', budget(1))).toBe(3);
    expect(() => parseWasmThreads('0')).toThrow(JclError);
    expect(() => parseWasmThreads('two')).toThrow(
      /JCL_WASM_THREADS: expected auto or an integer from 1 to 8, got "two"/,
    );
  });
});
