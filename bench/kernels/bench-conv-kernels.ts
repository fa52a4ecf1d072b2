/**
 * Per-kernel forward/backward timings of the resnet18-cifar convolutions (issue 3):
 *
 *   npx tsx bench/kernels/bench-conv-kernels.ts [--batch 32] [--reps 5] [--backends wasm-fast,wasm-stock,cpu]
 *                                               [--cpu-shapes 1] [--threads 1] [--json out.json]
 *
 * wasm-fast = tfjs-backend-wasm with worker/src/backend/wasm-kernels installed (Winograd where its policy
 * applies); wasm-direct = the same with Winograd off (JCL_WINOGRAD=off); wasm-stock = the
 * kernels tfjs-backend-wasm ships (it has no Conv2DBackpropFilter, reported as "missing");
 * cpu = tfjs-backend-cpu (slow: by default only the first `--cpu-shapes` shapes, one run each).
 * Prints one JSON line per (backend, shape, kernel) and a table.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getKernel } from '@tensorflow/tfjs-core';
import { loadWasmBackend } from '../../worker/src/backend/load-wasm-backend.ts';
import { restoreStockWasmKernels } from '../../worker/src/backend/wasm-kernels/register-fast-kernels.ts';
import { resnet18ConvShapes, type ConvSpec } from './resnet18-ops.ts';
import { timeKernel, type KernelTiming } from './time-kernel.ts';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '32' },
    reps: { type: 'string', default: '5' },
    backends: { type: 'string', default: 'wasm-fast,wasm-stock,cpu' },
    'cpu-shapes': { type: 'string', default: '1' },
    threads: { type: 'string', default: '1' },
    json: { type: 'string' },
  },
});
const batch = Number(values.batch);
const reps = Number(values.reps);
const backends = values.backends!.split(',');

interface Row {
  backend: string;
  shape: string;
  kernel: 'Conv2D' | 'Conv2DBackpropInput' | 'Conv2DBackpropFilter';
  /** Median wall ms; null when the backend has no such kernel. */
  ms: number | null;
  /** Median process CPU ms (steadier on a busy node). */
  cpuMs: number | null;
  gmacs: number;
}

/** Multiply-accumulates of one forward conv (each gradient costs the same). */
function macs(s: ConvSpec): number {
  const [n, h, w] = s.inShape;
  const [k, , cin, cout] = s.filterShape;
  return (n * Math.ceil(h / s.stride) * Math.ceil(w / s.stride) * k * k * cin * cout) / 1e9;
}

const threadsTag = (backend: string) =>
  backend.startsWith('wasm') && Number(values.threads) > 1 ? `${backend}-${values.threads}t` : backend;

/**
 * A new copy of the filter for every timed call: after each SGD step the weights are a new tensor, and
 * XNNPACK caches its packed filter per tensor, so reusing one filter would time a cache hit that
 * training never gets (~15 ms of a 3x3 512->512 layer). The copy itself is ~0.5 ms.
 */
const fresh = (w: tf.Tensor4D) => tf.add(w, 0) as tf.Tensor4D;

function timeShape(backend: string, s: ConvSpec, r: number): Row[] {
  const x = tf.randomNormal(s.inShape) as tf.Tensor4D;
  const w = tf.randomNormal(s.filterShape) as tf.Tensor4D;
  const y = tf.conv2d(x, w, s.stride, s.pad);
  const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
  const hasFilterGrad = getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
  const filterGrad = () =>
    tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
      strides: s.stride,
      pad: s.pad,
      dataFormat: 'NHWC',
      filterShape: s.filterShape,
    } as never) as tf.Tensor;
  const timings: Array<[Row['kernel'], KernelTiming | null]> = [
    ['Conv2D', timeKernel(() => tf.tidy(() => tf.conv2d(x, fresh(w), s.stride, s.pad)), r)],
    [
      'Conv2DBackpropInput',
      timeKernel(() => tf.tidy(() => tf.conv2dTranspose(dy, fresh(w), s.inShape, s.stride, s.pad)), r),
    ],
    ['Conv2DBackpropFilter', hasFilterGrad ? timeKernel(filterGrad, r) : null],
  ];
  tf.dispose([x, w, y, dy]);
  return timings.map(([kernel, t]) => ({
    backend: threadsTag(backend),
    shape: s.name,
    kernel,
    ms: t?.ms ?? null,
    cpuMs: t?.cpuMs ?? null,
    gmacs: macs(s),
  }));
}

const shapes = resnet18ConvShapes(batch);
const rows: Row[] = [];
for (const backend of backends) {
  if (backend === 'cpu') {
    await tf.setBackend('cpu');
  } else {
    await loadWasmBackend({
      fastKernels: backend !== 'wasm-stock',
      winograd: backend !== 'wasm-direct',
      threads: Number(values.threads),
    });
    // Put back the stock kernels so this run measures what tfjs-backend-wasm ships.
    if (backend === 'wasm-stock') restoreStockWasmKernels();
  }
  const list = backend === 'cpu' ? shapes.slice(0, Number(values['cpu-shapes'])) : shapes;
  for (const s of list) {
    for (const row of timeShape(backend, s, backend === 'cpu' ? 1 : reps)) {
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
}

const fmt = (v: number | null | undefined) => (v == null ? 'missing' : v.toFixed(1));
console.log(['shape', 'kernel', 'GMAC', ...backends.map((b) => `${threadsTag(b)} ms (cpu ms)`)].join(' | '));
for (const s of shapes) {
  for (const kernel of ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'] as const) {
    const cells = backends.map((b) => {
      const row = rows.find((r) => r.backend === threadsTag(b) && r.shape === s.name && r.kernel === kernel);
      return row === undefined ? '-' : `${fmt(row.ms)} (${fmt(row.cpuMs)})`;
    });
    console.log([s.name, kernel, macs(s).toFixed(3), ...cells].join(' | '));
  }
}
if (values.json) writeFileSync(values.json, JSON.stringify({ batch, reps, rows }, null, 2));
