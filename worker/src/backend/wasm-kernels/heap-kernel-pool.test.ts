/**
 * Our kernels on helper threads over the threaded build's shared heap (heap-kernel-pool.ts): the lists run
 * where they should and give the single-threaded results; a failing kernel on a helper is reported; the
 * Winograd passes spread over the threads give the single-threaded forward pass bitwise and the filter
 * gradient to float32 rounding (bitwise when only the products are spread).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers'; // registers the gradient functions of tfjs-core ops
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import { loadWasmBackend } from '../load-wasm-backend.ts';
import { batchNormTrainFused } from '../../model/fused-batch-norm.ts';
import { HeapKernelPool, type KernelCall } from './heap-kernel-pool.ts';
import { heapKernelPool, heapKernels, offsetOf } from './heap-kernels.ts';
import { HEAP_KERNELS_SHARED_WASM_BASE64 } from './heap-kernels-wasm.ts';
import {
  imagesPerBlock,
  ownWinogradFilterGrad,
  ownWinogradForward,
  STRIDE_1,
  STRIDE_2,
} from './winograd-own.ts';

let wasm: BackendWasm;
let single: HeapKernelPool;
const info = (t: tf.Tensor): TensorInfo => ({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
const at = (t: tf.Tensor) => offsetOf(wasm, info(t));

describe('heap kernels on helper threads', () => {
  beforeAll(async () => {
    await loadWasmBackend({ threads: 2 });
    wasm = tf.engine().backend as unknown as BackendWasm;
    const memory = (wasm.wasm as unknown as { wasmMemory: WebAssembly.Memory }).wasmMemory;
    single = new HeapKernelPool(
      heapKernels(wasm),
      memory,
      Buffer.from(HEAP_KERNELS_SHARED_WASM_BASE64, 'base64'),
      1,
    );
  });
  afterAll(() => single.close());

  it('has a helper per XNNPACK thread beyond the first and runs lists there, as the main thread would', () => {
    const pool = heapKernelPool(wasm);
    expect(pool.threads).toBe(2);
    // Eight products split over the two threads, against all eight here.
    const a = tf.randomNormal([8, 64, 32], 0, 1, 'float32', 1);
    const b = tf.randomNormal([32, 16], 0, 1, 'float32', 2);
    const z = [tf.zeros([8, 64, 16]), tf.zeros([8, 64, 16])];
    const calls = (zi: number): KernelCall[] =>
      Array.from({ length: 8 }, (_, p) => [
        'matmul',
        at(a) + p * 64 * 32 * 4,
        at(b),
        at(z[zi]) + p * 64 * 16 * 4,
        32,
        64,
        16,
        0,
      ]);
    const [here, split] = [calls(0), calls(1)];
    single.run([here]);
    pool.run([split.filter((_, p) => p % 2 === 0), split.filter((_, p) => p % 2 === 1)]);
    expect(Array.from(z[1].dataSync())).toEqual(Array.from(z[0].dataSync()));
    expect(Math.max(...Array.from(z[1].dataSync()).map(Math.abs))).toBeGreaterThan(0);
    tf.dispose([a, b, ...z]);
  });

  it('runs a list longer than a helper slot in parts, in order', () => {
    const pool = heapKernelPool(wasm);
    const calls = 9000; // 9 doubles each: past the 65536 of one slot
    const a = tf.range(0, 4 * calls, 1, 'float32');
    const b = tf.onesLike(a);
    const out = tf.zerosLike(a);
    // out[4c..4c+3] = a * 2 + b * 3, then the same block once more from out itself: order matters.
    const list: KernelCall[] = [];
    for (let c = 0; c < calls; c++) {
      const at4 = (t: tf.Tensor) => at(t) + 16 * c;
      list.push(
        ['axpby', at4(a), at4(b), 2, 3, at4(out), 4],
        ['axpby', at4(out), at4(b), 1, -3, at4(out), 4],
      );
    }
    pool.run([[], list]);
    expect(Array.from(out.dataSync())).toEqual(Array.from(a.dataSync()).map((v) => 2 * v));
    tf.dispose([a, b, out]);
  });

  it('reports a kernel that traps on a helper, and keeps working afterwards', () => {
    const pool = heapKernelPool(wasm);
    const bytes = (wasm.wasm as unknown as { wasmMemory: WebAssembly.Memory }).wasmMemory.buffer.byteLength;
    // A product whose output lies past the end of the heap.
    const outside: KernelCall = ['matmul', 0, 0, bytes + 64, 4, 4, 8, 0];
    expect(() => pool.run([[], [outside]])).toThrow(/helper thread/);
    expect(() => pool.run([[], []])).not.toThrow();
  });

  it.each([
    ['stride 1, several blocks per thread', [8, 16, 16, 16], 16, 1, 16],
    ['stride 1, fewer blocks than threads', [2, 8, 8, 16], 16, 1, 64],
    ['stride 2, several blocks', [8, 16, 16, 16], 24, 2, 8],
  ] as const)('Winograd %s: the same results as one thread', (_name, xShape, co, stride, blockTiles) => {
    const x = tf.randomNormal([...xShape], 0, 1, 'float32', 3) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, xShape[3], co], 0, 0.3, 'float32', 4) as tf.Tensor4D;
    const conv = backend_util.computeConv2DInfo(x.shape, w.shape, stride, 1, 'same');
    const g = {
      n: conv.batchSize,
      h: conv.inHeight,
      w: conv.inWidth,
      ci: conv.inChannels,
      co: conv.outChannels,
      outHeight: conv.outHeight,
      outWidth: conv.outWidth,
      tilesH: Math.ceil(conv.outHeight / 4),
      tilesW: Math.ceil(conv.outWidth / 4),
      tiles: conv.batchSize * Math.ceil(conv.outHeight / 4) * Math.ceil(conv.outWidth / 4),
      top: conv.padInfo.top,
      left: conv.padInfo.left,
    };
    const dy = tf.randomNormal([g.n, g.outHeight, g.outWidth, co], 0, 1, 'float32', 5);
    const variant = stride === 1 ? STRIDE_1 : STRIDE_2;
    const images = imagesPerBlock(g, blockTiles);
    const run = (pool: HeapKernelPool) =>
      [
        ownWinogradForward(wasm, variant, info(x), info(w), g, images, pool),
        ownWinogradFilterGrad(wasm, variant, info(x), info(dy), g, images, pool),
      ].map((t) => {
        const values = Float32Array.from(wasm.readSync(t.dataId) as Float32Array);
        wasm.disposeData(t.dataId);
        return values;
      });
    const [y1, dw1] = run(single);
    const [y2, dw2] = run(heapKernelPool(wasm));
    expect(Array.from(y2)).toEqual(Array.from(y1));
    const blocks = Math.ceil(g.n / images);
    if (blocks < 2) {
      expect(Array.from(dw2)).toEqual(Array.from(dw1)); // only the products were spread
    } else {
      const scale = Math.max(...Array.from(dw1).map(Math.abs));
      const err = Math.max(...Array.from(dw2).map((v, i) => Math.abs(v - dw1[i])));
      expect(err).toBeLessThanOrEqual(1e-5 * scale);
    }
    tf.dispose([x, w, dy]);
  });

  // Column sums split by channels (48 = 32 + 16; 20 = 16 + 4), normalisation and dx by rows.
  it.each([
    [[4, 6, 6, 48], 0],
    [[2, 4, 3, 20], 3],
  ] as const)(
    'training batch norm %j split over threads matches tf.moments + tf.batchNorm on cpu',
    async (shape, offset) => {
      const run = (fused: boolean) => {
        const kept: tf.Tensor[] = [];
        const values = tf.tidy(() => {
          const c = shape[3];
          const x = tf.add(tf.randomNormal([...shape], 0, 2, 'float32', 1), offset);
          const gamma = tf.randomUniform([c], 0.5, 1.5, 'float32', 2);
          const beta = tf.randomNormal([c], 0, 1, 'float32', 3);
          const r = tf.randomNormal([...shape], 0, 1, 'float32', 4);
          const forward = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
            if (!fused) {
              const { mean, variance } = tf.moments(a, [0, 1, 2]);
              return tf.batchNorm(a, mean, variance, b, g, 1e-5);
            }
            const out = batchNormTrainFused(a, g, b, 1e-5);
            kept.push(out.mean, out.variance);
            return out.y;
          };
          const y = forward(x, gamma, beta);
          const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(forward(a, g, b), r)),
          )([x, gamma, beta]);
          return [y, ...grads].map((t) => t.dataSync() as Float32Array);
        });
        tf.dispose(kept);
        return values;
      };
      await tf.setBackend('cpu');
      const want = run(false);
      await tf.setBackend('wasm');
      expect(heapKernelPool(tf.engine().backend as unknown as BackendWasm).threads).toBe(2);
      const got = run(true);
      want.forEach((w, k) => {
        const maxAbs = w.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-6);
        const maxErr = got[k].reduce((m, v, i) => Math.max(m, Math.abs(v - w[i])), 0);
        expect({ k, ok: maxErr <= 5e-5 * maxAbs }).toEqual({ k, ok: true });
      });
    },
  );

  it('strided patch products split by images: 1x1 and 3x3 stride 2, output and both gradients match cpu', async () => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.randomNormal([4, 8, 8, 16], 0, 1, 'float32', 6) as tf.Tensor4D; // 16 output rows per image
        const w1 = tf.randomNormal([1, 1, 16, 24], 0, 0.3, 'float32', 7) as tf.Tensor4D;
        const w3 = tf.randomNormal([3, 3, 16, 24], 0, 0.3, 'float32', 8) as tf.Tensor4D;
        const f = (a: tf.Tensor, b1: tf.Tensor, b3: tf.Tensor) =>
          tf.add(
            tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b1 as tf.Tensor4D, 2, 'valid'))),
            tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b3 as tf.Tensor4D, 2, 'same'))),
          );
        const grads = tf.grads(f)([x, w1, w3]);
        return [tf.conv2d(x, w1, 2, 'valid'), ...grads].map((t) => t.dataSync() as Float32Array);
      });
    await tf.setBackend('cpu');
    const want = run();
    await tf.setBackend('wasm');
    const got = run();
    want.forEach((w, k) => {
      const maxAbs = w.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-6);
      const maxErr = got[k].reduce((m, v, i) => Math.max(m, Math.abs(v - w[i])), 0);
      expect({ k, ok: maxErr <= 2e-5 * maxAbs }).toEqual({ k, ok: true });
    });
  });
});
