/**
 * Winograd layers on our products, the whole batch at once against blocks of images (winograd-own.ts), on
 * the resnet18-cifar shapes of one worker's step (key encoder at batch 64, query at 16):
 *
 *   npx tsx bench/kernels/bench-winograd-blocks.ts [--reps 5] [--block 64]
 *
 * Single-threaded (as each of several worker processes runs). Prints the median wall ms of the forward pass
 * and of the filter gradient per shape for both, and checks that they are bitwise equal.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { loadWasmBackend } from '../../worker/src/backend/load-wasm-backend.ts';
import { setWinogradPolicy, WINOGRAD_DEFAULT } from '../../worker/src/backend/wasm-kernels/winograd-conv.ts';
import { timeRun } from './time-kernel.ts';

const { values } = parseArgs({
  options: { reps: { type: 'string', default: '5' }, block: { type: 'string', default: '64' } },
});
await loadWasmBackend({ threads: 1 });
const reps = Number(values.reps);

const SHAPES: Array<{ name: string; x: [number, number, number, number]; co: number; stride: 1 | 2 }> = [
  { name: 'key 3x3 64->64 @32', x: [64, 32, 32, 64], co: 64, stride: 1 },
  { name: 'key 3x3 128->128 @16', x: [64, 16, 16, 128], co: 128, stride: 1 },
  { name: 'key 3x3 64->128 @32 stride 2', x: [64, 32, 32, 64], co: 128, stride: 2 },
  { name: 'query 3x3 64->64 @32', x: [16, 32, 32, 64], co: 64, stride: 1 },
  { name: 'query 3x3 128->128 @16', x: [16, 16, 16, 128], co: 128, stride: 1 },
];

for (const s of SHAPES) {
  const x = tf.randomNormal(s.x, 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, s.x[3], s.co], 0, 0.1, 'float32', 2) as tf.Tensor4D;
  const y0 = tf.conv2d(x, w, s.stride, 'same');
  const dy = tf.randomNormal(y0.shape, 0, 1, 'float32', 3) as tf.Tensor4D;
  y0.dispose();
  const forward = () => tf.conv2d(x, w, s.stride, 'same');
  const filterGrad = () =>
    tf
      .engine()
      .runKernel(
        'Conv2DBackpropFilter',
        { x, dy },
        { strides: [s.stride, s.stride], pad: 'same', dataFormat: 'NHWC', filterShape: w.shape },
      ) as tf.Tensor;
  const measure = (blockTiles: number) => {
    setWinogradPolicy({ ...WINOGRAD_DEFAULT, blockTiles });
    const values = [forward(), filterGrad()].map((t) => {
      const v = Array.from(t.dataSync());
      t.dispose();
      return v;
    });
    const ms = [forward, filterGrad].map((f) => timeRun(() => f().dispose(), reps).ms);
    return { ms, values };
  };
  const whole = measure(Infinity);
  const blocked = measure(Number(values.block));
  const equal = whole.values.every((v, i) => v.every((e, j) => e === blocked.values[i][j]));
  console.log(
    JSON.stringify({
      name: s.name,
      forwardMs: { whole: +whole.ms[0].toFixed(2), blocked: +blocked.ms[0].toFixed(2) },
      filterGradMs: { whole: +whole.ms[1].toFixed(2), blocked: +blocked.ms[1].toFixed(2) },
      bitwiseEqual: equal,
    }),
  );
  tf.dispose([x, w, dy]);
}
setWinogradPolicy(WINOGRAD_DEFAULT);
