/**
 * Strided convolutions as patch-matrix products on wasm (im2col-conv.ts) against tfjs-backend-cpu (issue 3:
 * each new kernel checked on random shapes: strides 2 and 3, SAME/VALID/explicit asymmetric padding, batch
 * 1, odd sizes, 1x1 and 3x3 filters), plus the policy that picks the path and the paths it falls back to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers'; // registers the gradient functions of tfjs-core ops
import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import { loadWasmBackend } from '../load-wasm-backend.ts';
import { explicit, expectClose, type Pad } from './conv-test-support.ts';
import { im2colConv2d, im2colFilterGrad, im2colInputGrad } from './im2col-conv.ts';
import {
  setWinogradPolicy,
  useStridedIm2col,
  WINOGRAD_DEFAULT,
  WINOGRAD_OFF,
  type WinogradPolicy,
} from './winograd-conv.ts';

interface Case {
  name: string;
  x: [number, number, number, number];
  k: number;
  co: number;
  stride: number;
  pad: Pad;
}

// Every case meets the products' shape needs in all three passes (asserted below), so each pass runs ours.
const CASES: Case[] = [
  { name: '3x3 stride 2 same, even size', x: [2, 8, 8, 8], k: 3, co: 16, stride: 2, pad: 'same' },
  { name: '3x3 stride 2 same, odd sizes, batch 1', x: [1, 7, 15, 8], k: 3, co: 8, stride: 2, pad: 'same' },
  { name: '3x3 stride 2 valid', x: [4, 9, 8, 16], k: 3, co: 24, stride: 2, pad: 'valid' },
  {
    name: '3x3 stride 2 explicit asymmetric',
    x: [4, 9, 10, 8],
    k: 3,
    co: 8,
    stride: 2,
    pad: explicit(1, 2, 0, 1),
  },
  { name: '3x3 stride 3 same', x: [4, 10, 11, 8], k: 3, co: 16, stride: 3, pad: 'same' },
  { name: '1x1 stride 2 (the shortcut)', x: [4, 8, 8, 16], k: 1, co: 32, stride: 2, pad: 'valid' },
  { name: '5x5 stride 2 same, 64 channels', x: [2, 12, 12, 64], k: 5, co: 32, stride: 2, pad: 'same' },
];

// Stride-2 Winograd off: it would take the 3x3 stride-2 forward and filter gradient (winograd-conv.test.ts).
const ON: WinogradPolicy = { ...WINOGRAD_DEFAULT, stridedIm2col: true, stride2: false };

const infoOf = (c: Case) => backend_util.computeConv2DInfo(c.x, [c.k, c.k, c.x[3], c.co], c.stride, 1, c.pad);

/** y = conv2d(x, w) and its gradients for a fixed upstream gradient, on the active backend. */
function convAndGrads(c: Case) {
  return tf.tidy(() => {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([c.k, c.k, c.x[3], c.co], 0, 0.3, 'float32', 2) as tf.Tensor4D;
    const conv = (a: tf.Tensor, b: tf.Tensor) =>
      tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad);
    const y = conv(x, w);
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), dy)))([x, w]);
    return [y, dx, dw].map((t) => t.dataSync() as Float32Array);
  });
}

describe('strided convolutions as patch-matrix products on wasm', () => {
  let previous: WinogradPolicy;
  beforeAll(async () => {
    await loadWasmBackend();
    previous = setWinogradPolicy(ON);
  });
  afterAll(() => {
    setWinogradPolicy(previous);
  });

  it.each(CASES.map((c) => [c.name, c] as const))(
    '%s: output, input and filter gradients match tfjs-backend-cpu',
    async (_name, c) => {
      const info = infoOf(c);
      expect(
        ['forward', 'filterGrad', 'inputGrad'].map((p) => useStridedIm2col(info, 'float32', p as never)),
      ).toEqual([true, true, true]);
      await tf.setBackend('cpu');
      const want = convAndGrads(c);
      await tf.setBackend('wasm');
      const before = { tensors: tf.memory().numTensors, dataIds: tf.engine().backend.numDataIds() };
      const got = convAndGrads(c);
      // The same sums as a direct convolution, in float32: rounding differences only.
      got.forEach((g, k) => expectClose(g, want[k], 2e-6));
      expect({ tensors: tf.memory().numTensors, dataIds: tf.engine().backend.numDataIds() }).toEqual(before);
    },
  );

  it('is the path the ops take (bitwise the direct kernel calls), and off gives the same values another way', async () => {
    await tf.setBackend('wasm');
    const backend = tf.engine().backend;
    const c = CASES[1];
    const info = infoOf(c);
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 4) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, c.x[3], c.co], 0, 0.3, 'float32', 5) as tf.Tensor4D;
    const dy = tf.randomNormal(
      [c.x[0], info.outHeight, info.outWidth, c.co],
      0,
      1,
      'float32',
      6,
    ) as tf.Tensor4D;
    const i = (t: tf.Tensor): TensorInfo => ({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
    const direct = [
      im2colConv2d(backend, i(x), i(w), info),
      im2colInputGrad(backend, i(dy), i(w), info),
      im2colFilterGrad(backend, i(x), i(dy), info),
    ].map((t) => {
      const values = Array.from(backend.readSync(t.dataId) as Float32Array);
      backend.disposeData(t.dataId);
      return values;
    });
    const viaOps = () => {
      const attrs = { strides: [2, 2], pad: 'same', dataFormat: 'NHWC' };
      const run = (name: string, inputs: tf.NamedTensorMap, extra: object) =>
        tf.engine().runKernel(name, inputs, { ...attrs, ...extra }) as tf.Tensor;
      const outs = [
        tf.conv2d(x, w, 2, 'same'),
        run('Conv2DBackpropInput', { dy, filter: w }, { inputShape: c.x }),
        run('Conv2DBackpropFilter', { x, dy }, { filterShape: [3, 3, c.x[3], c.co] }),
      ];
      const values = outs.map((t) => Array.from(t.dataSync()));
      tf.dispose(outs);
      return values;
    };
    expect(viaOps()).toEqual(direct);
    setWinogradPolicy(WINOGRAD_OFF);
    try {
      const stock = viaOps();
      stock.forEach((v, k) => expectClose(Float32Array.from(v), Float32Array.from(direct[k]), 2e-6));
    } finally {
      setWinogradPolicy(ON);
    }
    tf.dispose([x, w, dy]);
  });

  it('default policy: strided layers whose products fit our kernels; never stride 1', () => {
    const info = (x: [number, number, number, number], co: number, stride: number, k = 3, dilation = 1) =>
      backend_util.computeConv2DInfo(x, [k, k, x[3], co], stride, dilation, 'same');
    const passes = (i: backend_util.Conv2DInfo) =>
      (['forward', 'filterGrad', 'inputGrad'] as const).map((p) => useStridedIm2col(i, 'float32', p));
    setWinogradPolicy(WINOGRAD_DEFAULT);
    try {
      expect(passes(info([16, 32, 32, 64], 128, 2))).toEqual([true, true, true]); // resnet18-cifar layer2
      expect(passes(info([16, 32, 32, 64], 128, 2, 1))).toEqual([true, true, true]); // its 1x1 shortcut
      expect(passes(info([16, 32, 32, 64], 64, 1))).toEqual([false, false, false]); // stride 1: Winograd's
      expect(passes(info([16, 32, 32, 3], 64, 2))).toEqual([false, false, false]); // 3 channels
      expect(passes(info([1, 5, 5, 8], 16, 2))).toEqual([false, true, false]); // 9 output rows
      expect(passes(info([16, 32, 32, 4], 12, 2))).toEqual([false, false, false]); // 12 % 8; 36 % 8
      expect(useStridedIm2col(info([16, 32, 32, 64], 128, 2), 'int32', 'forward')).toBe(false);
      setWinogradPolicy(WINOGRAD_OFF);
      expect(passes(info([16, 32, 32, 64], 128, 2))).toEqual([false, false, false]);
    } finally {
      setWinogradPolicy(ON);
    }
  });
});
