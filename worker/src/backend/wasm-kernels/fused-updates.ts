/**
 * Single-pass parameter updates for the wasm backend (heap-kernels.ts `sgd_momentum`, `axpby`): the SGD
 * step with momentum and weight decay and the key encoder's momentum update each took 3-6 tfjs ops, i.e.
 * as many passes over the 11M resnet18 weights, per step. The kernels are registered under names of our
 * own; worker/src/train/fused-update.ts calls them when the active backend has them and the plain ops
 * otherwise. Results are bit-identical to the ops (same float32 operations in the same order).
 */
import { util, type KernelBackend, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapKernels, offsetOf } from './heap-kernels.ts';

/** Kernel names (shared with worker/src/train/fused-update.ts). */
export const SGD_MOMENTUM_KERNEL = 'JclSgdMomentum';
export const AXPBY_KERNEL = 'JclAxpby';

function checkSame(kernel: string, a: TensorInfo, ...rest: TensorInfo[]): void {
  for (const t of [a, ...rest]) {
    if (t.dtype !== 'float32' || t.shape.join('x') !== a.shape.join('x'))
      throw new Error(
        `${kernel}: expected float32 inputs of one shape, got ${t.dtype} [${t.shape}] and [${a.shape}]`,
      );
  }
}

/** [w', buf'] = SGD step of w with gradient g and momentum buffer buf (see heap-kernels-wat.ts). */
export function sgdMomentumKernel(args: {
  inputs: { w: TensorInfo; g: TensorInfo; buf: TensorInfo };
  backend: KernelBackend;
  attrs: { lr: number; momentum: number; weightDecay: number };
}): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { w, g, buf } = inputs;
  checkSame(SGD_MOMENTUM_KERNEL, w, g, buf);
  const wasm = backend as unknown as BackendWasm;
  const wOut = wasm.makeOutput(w.shape, 'float32');
  const bufOut = wasm.makeOutput(w.shape, 'float32');
  const k = heapKernels(wasm);
  const step = attrs.weightDecay !== 0 ? k.sgd_momentum : k.sgd_momentum_nodecay;
  const at = (t: TensorInfo) => offsetOf(wasm, t);
  step(
    at(w),
    at(g),
    at(buf),
    attrs.weightDecay,
    attrs.momentum,
    attrs.lr,
    at(wOut),
    at(bufOut),
    util.sizeFromShape(w.shape),
  );
  return [wOut, bufOut];
}

/** a * alpha + b * beta. */
export function axpbyKernel(args: {
  inputs: { a: TensorInfo; b: TensorInfo };
  backend: KernelBackend;
  attrs: { alpha: number; beta: number };
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  checkSame(AXPBY_KERNEL, inputs.a, inputs.b);
  const wasm = backend as unknown as BackendWasm;
  const out = wasm.makeOutput(inputs.a.shape, 'float32');
  const at = (t: TensorInfo) => offsetOf(wasm, t);
  heapKernels(wasm).axpby(
    at(inputs.a),
    at(inputs.b),
    attrs.alpha,
    attrs.beta,
    at(out),
    util.sizeFromShape(inputs.a.shape),
  );
  return out;
}
