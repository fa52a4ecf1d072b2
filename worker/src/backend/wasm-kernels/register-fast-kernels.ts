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
import { conv2dBackpropFilterWasmConfig } from './conv2d-backprop-filter.ts';
import { makeConv2dBackpropInputWasm } from './conv2d-backprop-input.ts';
import { makeLeadingReduceWasm } from './reduce-leading-axes.ts';
import { makeTileWasm } from './tile-broadcast.ts';
import { makeConv2dWasm } from './winograd-conv.ts';
import { makeBatchNormWasm } from './batch-norm.ts';
import {
  BN_GRAD_KERNEL,
  BN_TRAIN_KERNEL,
  batchNormGradWasmConfig,
  batchNormTrainWasmConfig,
} from './batch-norm-train.ts';
import {
  AXPBY_KERNEL,
  axpbyWasmConfig,
  SGD_MOMENTUM_KERNEL,
  sgdMomentumWasmConfig,
} from './fused-updates.ts';

const FAST_KERNELS = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'Tile',
  'Sum',
  'Mean',
  'Conv2D',
  'FusedBatchNorm',
  SGD_MOMENTUM_KERNEL,
  AXPBY_KERNEL,
  BN_TRAIN_KERNEL,
  BN_GRAD_KERNEL,
];

const MARK = Symbol.for('jcl.fastWasmKernel');
type MarkedConfig = KernelConfig & { [MARK]?: true; stock?: KernelConfig };

/** The kernel tfjs-backend-wasm itself registered under `kernelName`, even after we replaced it. */
export function getStockWasmKernel(kernelName: string): KernelConfig | undefined {
  const current = getKernel(kernelName, 'wasm') as MarkedConfig | undefined;
  return current?.[MARK] ? current.stock : current;
}

/** Replace (or add) `kernelName` on wasm with the kernel `make` builds around the stock one. */
function install(kernelName: string, make: (stock: KernelFunc | undefined) => KernelFunc): void {
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

const required = (name: string, stock: KernelFunc | undefined): KernelFunc => {
  if (stock === undefined)
    throw new Error(`tfjs-backend-wasm registers no ${name}; expected it to wrap the stock kernel`);
  return stock;
};

/**
 * Register Conv2DBackpropFilter (missing on wasm); replace Conv2DBackpropInput, Tile, Sum, Mean and
 * FusedBatchNorm (slow on the training path) and Conv2D (Winograd for 3x3 stride-1 layers), each falling
 * back to the stock kernel outside its fast case; add our single-pass parameter updates (fused-updates.ts) and training-mode batch norm (batch-norm-train.ts).
 */
export function registerFastWasmKernels(): string[] {
  install('Conv2DBackpropFilter', () => conv2dBackpropFilterWasmConfig.kernelFunc);
  install('Conv2DBackpropInput', (stock) => makeConv2dBackpropInputWasm(stock) as unknown as KernelFunc);
  install('Tile', (stock) => makeTileWasm(required('Tile', stock)) as unknown as KernelFunc);
  install('Sum', (stock) => makeLeadingReduceWasm(required('Sum', stock), false) as unknown as KernelFunc);
  install('Mean', (stock) => makeLeadingReduceWasm(required('Mean', stock), true) as unknown as KernelFunc);
  install('Conv2D', (stock) => makeConv2dWasm(required('Conv2D', stock)) as unknown as KernelFunc);
  install(
    'FusedBatchNorm',
    (stock) => makeBatchNormWasm(required('FusedBatchNorm', stock)) as unknown as KernelFunc,
  );
  install(SGD_MOMENTUM_KERNEL, () => sgdMomentumWasmConfig.kernelFunc);
  install(AXPBY_KERNEL, () => axpbyWasmConfig.kernelFunc);
  install(BN_TRAIN_KERNEL, () => batchNormTrainWasmConfig.kernelFunc);
  install(BN_GRAD_KERNEL, () => batchNormGradWasmConfig.kernelFunc);
  return FAST_KERNELS.slice();
}

/** Put back the kernels tfjs-backend-wasm ships (benchmarks compare both); Conv2DBackpropFilter goes away. */
export function restoreStockWasmKernels(): void {
  for (const name of FAST_KERNELS) {
    const current = getKernel(name, 'wasm') as MarkedConfig | undefined;
    if (!current?.[MARK]) continue;
    unregisterKernel(name, 'wasm');
    if (current.stock !== undefined) registerKernel(current.stock);
  }
}
