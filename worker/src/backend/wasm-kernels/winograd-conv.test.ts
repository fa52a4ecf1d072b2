/**
 * Winograd F(4x4, 3x3) Conv2D and Conv2DBackpropFilter on wasm against tfjs-backend-cpu (issue 3: each new
 * kernel checked on random shapes: padding SAME/VALID/explicit and asymmetric, batch 1, sizes that are not
 * multiples of the 4x4 tile, channel counts from 4 up), plus the policy that picks the path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers'; // registers the gradient functions of tfjs-core ops
import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import { loadWasmBackend } from '../load-wasm-backend.ts';
import { explicit, expectClose, type Pad } from './conv-test-support.ts';
import {
  setWinogradPolicy,
  useWinogradFilterGrad,
  useWinogradForward,
  useWinogradS2FilterGrad,
  useWinogradS2Forward,
  WINOGRAD_DEFAULT,
  winogradConv2d,
  winogradFilterGrad,
  winogradS2Conv2d,
  winogradS2FilterGrad,
  type WinogradPolicy,
} from './winograd-conv.ts';

const CASES: Array<{ name: string; x: [number, number, number, number]; co: number; pad: Pad; stride?: 2 }> =
  [
    { name: 'same 8x8 (whole tiles)', x: [2, 8, 8, 4], co: 8, pad: 'same' },
    { name: 'same, odd sizes, batch 1', x: [1, 7, 9, 8], co: 4, pad: 'same' },
    { name: 'valid, partial tiles', x: [2, 10, 7, 4], co: 12, pad: 'valid' },
    { name: 'explicit asymmetric pads', x: [2, 6, 9, 4], co: 4, pad: explicit(2, 0, 1, 2) },
    { name: 'one output row', x: [3, 3, 13, 4], co: 8, pad: 'valid' },
    { name: '16 -> 20 channels, 5x5', x: [3, 5, 5, 16], co: 20, pad: 'same' },
    { name: '64 channels, 12x12', x: [2, 12, 12, 64], co: 32, pad: 'same' },
    // Rows in fours and columns in eights in every product, forward and backward: our 4 x 8-block kernels.
    { name: 'tiles and channels for our products, 6x6', x: [4, 6, 6, 16], co: 24, pad: 'same' },
    { name: 'tiles and channels for our products, partial tiles', x: [4, 9, 7, 8], co: 16, pad: 'same' },
    // Stride 2 (polyphase): 9x9 windows 8 apart, even and odd phases, partial tiles and pads of 0 and 1.
    { name: 'stride 2, same 8x8', x: [2, 8, 8, 4], co: 8, pad: 'same', stride: 2 },
    { name: 'stride 2, same, odd sizes, batch 1', x: [1, 9, 7, 8], co: 4, pad: 'same', stride: 2 },
    { name: 'stride 2, valid, partial tiles', x: [2, 11, 10, 4], co: 12, pad: 'valid', stride: 2 },
    {
      name: 'stride 2, explicit pads 1 (torch style)',
      x: [2, 10, 12, 4],
      co: 8,
      pad: explicit(1, 1, 1, 1),
      stride: 2,
    },
    {
      name: 'stride 2, explicit asymmetric pads',
      x: [2, 9, 10, 8],
      co: 4,
      pad: explicit(2, 0, 0, 1),
      stride: 2,
    },
    { name: 'stride 2, our products, 16 -> 24 channels', x: [4, 8, 8, 16], co: 24, pad: 'same', stride: 2 },
    { name: 'stride 2, 64 -> 32 channels, 16x16', x: [4, 16, 16, 64], co: 32, pad: 'same', stride: 2 },
  ];

const EVERYWHERE: WinogradPolicy = {
  minChannels: 1,
  minForwardTiles: 1,
  ownGemm: true,
  stridedIm2col: true,
  stride2: true,
  blockTiles: 4, // several blocks of images in most cases
};
let previous: WinogradPolicy;

/** y = conv2d(x, w) and its gradients for a fixed upstream gradient, on the active backend. */
function convAndGrads(c: (typeof CASES)[number]) {
  return tf.tidy(() => {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, c.x[3], c.co], 0, 0.3, 'float32', 2) as tf.Tensor4D;
    const y = tf.conv2d(x, w, c.stride ?? 1, c.pad);
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride ?? 1, c.pad), dy)),
    )([x, w]);
    return {
      y: y.dataSync() as Float32Array,
      dx: dx.dataSync() as Float32Array,
      dw: dw.dataSync() as Float32Array,
    };
  });
}

describe('Winograd F(4x4, 3x3) on wasm', () => {
  beforeAll(async () => {
    await loadWasmBackend();
    previous = setWinogradPolicy(EVERYWHERE);
  });
  afterAll(() => {
    setWinogradPolicy(previous);
  });

  // Our 4 x 8-block products where the shapes allow (rows % 4, columns % 8), XNNPACK's otherwise; and
  // XNNPACK's for all (ownGemm false).
  it.each(CASES.flatMap((c) => [true, false].map((ownGemm) => [c.name, ownGemm, c] as const)))(
    '%s (our products: %s): output, input and filter gradients match tfjs-backend-cpu',
    async (_name, ownGemm, c) => {
      setWinogradPolicy({ ...EVERYWHERE, ownGemm });
      await tf.setBackend('cpu');
      const want = convAndGrads(c);
      await tf.setBackend('wasm');
      const before = { tensors: tf.memory().numTensors, dataIds: tf.engine().backend.numDataIds() };
      const got = convAndGrads(c);
      // Winograd rounds differently from a direct sum (transform constants up to 8 and 1/24).
      expectClose(got.y, want.y, 1e-5);
      expectClose(got.dx, want.dx, 1e-5);
      expectClose(got.dw, want.dw, 2e-5);
      expect({ tensors: tf.memory().numTensors, dataIds: tf.engine().backend.numDataIds() }).toEqual(before);
    },
  );

  it.each(CASES.filter((c) => c.x[0] > 1).map((c) => [c.name, c] as const))(
    '%s: blocks of images give bitwise the whole-batch results',
    async (_name, c) => {
      await tf.setBackend('wasm');
      setWinogradPolicy({ ...EVERYWHERE, blockTiles: Infinity });
      const whole = convAndGrads(c);
      setWinogradPolicy(EVERYWHERE);
      const blocked = convAndGrads(c);
      expect([blocked.y, blocked.dx, blocked.dw].map((v) => Array.from(v))).toEqual(
        [whole.y, whole.dx, whole.dw].map((v) => Array.from(v)),
      );
    },
  );

  it.each([
    {
      stride: 1,
      x: [2, 9, 7, 8] as [number, number, number, number],
      co: 12,
      uses: [useWinogradForward, useWinogradFilterGrad],
      direct: [winogradConv2d, winogradFilterGrad],
    },
    {
      stride: 2,
      x: [4, 10, 9, 8] as [number, number, number, number],
      co: 16,
      uses: [useWinogradS2Forward, useWinogradS2FilterGrad],
      direct: [winogradS2Conv2d, winogradS2FilterGrad],
    },
  ])(
    'stride $stride: the path tf.conv2d and the filter gradient take (bitwise the direct kernel calls)',
    async ({ stride, x: xShape, co, uses, direct }) => {
      setWinogradPolicy(EVERYWHERE);
      await tf.setBackend('wasm');
      const backend = tf.engine().backend;
      const ci = xShape[3];
      const x = tf.randomNormal(xShape, 0, 1, 'float32', 4 + stride) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, ci, co], 0, 0.3, 'float32', 5 + stride) as tf.Tensor4D;
      const info = backend_util.computeConv2DInfo(x.shape, w.shape, stride, 1, 'same');
      const dy = tf.randomNormal(
        [xShape[0], info.outHeight, info.outWidth, co],
        0,
        1,
        'float32',
        6,
      ) as tf.Tensor4D;
      expect(uses.map((use) => use(info, 'float32'))).toEqual([true, true]);
      const info_ = (t: tf.Tensor): TensorInfo => ({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
      const [forward, filterGrad] = direct;
      const values = [
        forward(backend, info_(x), info_(w), info),
        filterGrad(backend, info_(x), info_(dy), info),
      ].map((t) => {
        const v = Array.from(backend.readSync(t.dataId) as Float32Array);
        backend.disposeData(t.dataId);
        return v;
      });
      const viaOps = [
        tf.conv2d(x, w, stride, 'same'),
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x, dy },
            { strides: [stride, stride], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, ci, co] },
          ) as tf.Tensor,
      ];
      expect(viaOps.map((t) => Array.from(t.dataSync()))).toEqual(values);
      tf.dispose([x, w, dy, ...viaOps]);
    },
  );

  it('default policy: 3x3 stride-1 layers of 16+ channels; the forward pass needs 16+ tiles', () => {
    const info = (x: [number, number, number, number], ci: number, co: number, stride = 1, k = 3) =>
      backend_util.computeConv2DInfo([x[0], x[1], x[2], ci], [k, k, ci, co], stride, 1, 'same');
    const decide = (i: backend_util.Conv2DInfo) => [
      useWinogradForward(i, 'float32'),
      useWinogradFilterGrad(i, 'float32'),
    ];
    setWinogradPolicy(WINOGRAD_DEFAULT);
    try {
      expect(decide(info([128, 32, 32, 64], 64, 64))).toEqual([true, true]);
      expect(decide(info([16, 4, 4, 512], 512, 512))).toEqual([true, true]); // 16 tiles
      expect(decide(info([8, 4, 4, 512], 512, 512))).toEqual([false, true]); // 8 tiles
      expect(decide(info([128, 32, 32, 3], 3, 64))).toEqual([false, false]); // the RGB stem
      expect(decide(info([128, 32, 32, 64], 64, 128, 2))).toEqual([false, false]); // stride 2: below
      const s2 = (i: backend_util.Conv2DInfo) => [
        useWinogradS2Forward(i, 'float32'),
        useWinogradS2FilterGrad(i, 'float32'),
      ];
      expect(s2(info([16, 32, 32, 64], 64, 128, 2))).toEqual([true, true]); // resnet18-cifar layer2.0
      expect(s2(info([16, 8, 8, 256], 256, 512, 2))).toEqual([true, true]); // layer4.0: 16 tiles
      expect(s2(info([8, 8, 8, 256], 256, 512, 2))).toEqual([false, true]); // 8 tiles
      expect(s2(info([16, 32, 32, 64], 64, 128, 1))).toEqual([false, false]); // stride 1
      expect(s2(info([16, 32, 32, 64], 64, 128, 2, 1))).toEqual([false, false]); // 1x1 shortcut
      expect(s2(info([16, 32, 32, 16], 16, 20, 2))).toEqual([true, false]); // 20 % 8: no outer_sums
      expect(decide(info([128, 32, 32, 64], 64, 128, 1, 1))).toEqual([false, false]); // 1x1
      expect(decide(info([128, 32, 32, 18], 18, 64))).toEqual([false, false]); // 18 % 4 != 0
      expect(useWinogradForward(info([128, 32, 32, 64], 64, 64), 'int32')).toBe(false);
    } finally {
      setWinogradPolicy(EVERYWHERE);
    }
  });
});
