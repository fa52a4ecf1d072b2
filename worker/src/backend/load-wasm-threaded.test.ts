import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { parseWasmThreads } from './select-backend.ts';
import { loadWasmBackend } from './load-wasm-backend.ts';
import { JclError } from '../util/errors.ts';

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
