/**
 * Install the fast training kernels on the wasm backend (issue 3). Idempotent; call after the wasm
 * backend is registered. Returns the names of the kernels it installed.
 */
import {
  getKernel,
  registerKernel,
  unregisterKernel,
  type KernelConfig,
  type KernelFunc,
} from '@tensorflow/tfjs-core';
import { makeBatchNormWasm } from './batch-norm.ts';
import {
  BN_GRAD_KERNEL,
  BN_TRAIN_KERNEL,
  batchNormGradKernel,
  batchNormTrainKernel,
} from './batch-norm-train.ts';
import { conv2dBackpropFilterWasmConfig } from './conv2d-backprop-filter.ts';
import { makeConv2dBackpropInputWasm } from './conv2d-backprop-input.ts';
import { AXPBY_KERNEL, axpbyKernel, SGD_MOMENTUM_KERNEL, sgdMomentumKernel } from './fused-updates.ts';
import { makeBatchMatMulWasm } from './batch-mat-mul.ts';
import { makeIdentityWasm } from './identity.ts';
import { makeLeadingReduceWasm } from './reduce-leading-axes.ts';
import { makeTileWasm } from './tile-broadcast.ts';
import { makeConv2dWasm } from './winograd-conv.ts';

const MARK = Symbol.for('jcl.fastWasmKernel');
type MarkedConfig = KernelConfig & { [MARK]?: true; stock?: KernelConfig };

/** The kernel tfjs-backend-wasm itself registered under `kernelName`, even after we replaced it. */
export function getStockWasmKernel(kernelName: string): KernelConfig | undefined {
  const current = getKernel(kernelName, 'wasm') as MarkedConfig | undefined;
  return current?.[MARK] ? current.stock : current;
}

/** Builds our kernel around the stock one (undefined where tfjs-backend-wasm registers none). */
type Make = (stock: KernelFunc | undefined) => KernelFunc;

/** A replacement that needs the stock kernel as its fallback. */
const wrap =
  (name: string, f: (stock: KernelFunc) => unknown): Make =>
  (stock) => {
    if (stock === undefined)
      throw new Error(`tfjs-backend-wasm registers no ${name}; expected it to wrap the stock kernel`);
    return f(stock) as KernelFunc;
  };

/** A kernel that stands alone. */
const ours =
  (f: unknown): Make =>
  () =>
    f as KernelFunc;

/**
 * What registerFastWasmKernels installs, by kernel name: Conv2DBackpropFilter (missing on wasm);
 * replacements of Conv2DBackpropInput, Tile, Sum, Mean, FusedBatchNorm, Identity and BatchMatMul (slow, or
 * copying, on the training path) and
 * Conv2D (Winograd for 3x3 stride-1 layers), each falling back to the stock kernel outside its fast case;
 * and kernels of our own: single-pass parameter updates (fused-updates.ts) and training-mode batch norm
 * (batch-norm-train.ts).
 */
const FAST: ReadonlyArray<readonly [string, Make]> = [
  ['Conv2DBackpropFilter', ours(conv2dBackpropFilterWasmConfig.kernelFunc)],
  ['Conv2DBackpropInput', (stock) => makeConv2dBackpropInputWasm(stock) as unknown as KernelFunc],
  ['Tile', wrap('Tile', makeTileWasm)],
  ['Sum', wrap('Sum', (stock) => makeLeadingReduceWasm(stock, false))],
  ['Mean', wrap('Mean', (stock) => makeLeadingReduceWasm(stock, true))],
  ['Conv2D', wrap('Conv2D', makeConv2dWasm)],
  ['FusedBatchNorm', wrap('FusedBatchNorm', makeBatchNormWasm)],
  ['Identity', wrap('Identity', makeIdentityWasm)],
  ['BatchMatMul', wrap('BatchMatMul', makeBatchMatMulWasm)],
  [SGD_MOMENTUM_KERNEL, ours(sgdMomentumKernel)],
  [AXPBY_KERNEL, ours(axpbyKernel)],
  [BN_TRAIN_KERNEL, ours(batchNormTrainKernel)],
  [BN_GRAD_KERNEL, ours(batchNormGradKernel)],
];

/** Replace (or add) `kernelName` on wasm with the kernel `make` builds around the stock one. */
function install(kernelName: string, make: Make): void {
  const current = getKernel(kernelName, 'wasm') as MarkedConfig | undefined;
  if (current?.[MARK]) return;
  if (current !== undefined) unregisterKernel(kernelName, 'wasm');
  const config: MarkedConfig = {
    kernelName,
    backendName: 'wasm',
    kernelFunc: make(current?.kernelFunc),
    [MARK]: true,
    stock: current,
  };
  registerKernel(config);
}

/** Install {@link FAST}; returns the kernel names. */
export function registerFastWasmKernels(): string[] {
  for (const [name, make] of FAST) install(name, make);
  return FAST.map(([name]) => name);
}

/** Put back the kernels tfjs-backend-wasm ships (benchmarks compare both); ours go away. */
export function restoreStockWasmKernels(): void {
  for (const [name] of FAST) {
    const current = getKernel(name, 'wasm') as MarkedConfig | undefined;
    if (!current?.[MARK]) continue;
    unregisterKernel(name, 'wasm');
    if (current.stock !== undefined) registerKernel(current.stock);
  }
}
