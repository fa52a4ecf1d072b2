/**
 * Install the fast training kernels on the wasm backend (issue 3). Idempotent; call after the wasm
 * backend is registered. Returns the names of the kernels it installed.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterWasmConfig } from './conv2d-backprop-filter.ts';
import { makeConv2dBackpropInputWasm } from './conv2d-backprop-input.ts';

const MARK = Symbol.for('jcl.fastWasmKernel');
type MarkedConfig = KernelConfig & { [MARK]?: true };

function install(config: KernelConfig): void {
  const existing = getKernel(config.kernelName, 'wasm') as MarkedConfig | undefined;
  if (existing?.[MARK]) return;
  if (existing !== undefined) unregisterKernel(config.kernelName, 'wasm');
  registerKernel({ ...config, [MARK]: true } as MarkedConfig);
}

/** Register Conv2DBackpropFilter (missing on wasm) and replace Conv2DBackpropInput (slow on wasm). */
export function registerFastWasmKernels(): string[] {
  const stockInput = getKernel('Conv2DBackpropInput', 'wasm') as MarkedConfig | undefined;
  const fallback: KernelFunc | undefined = stockInput?.[MARK] ? undefined : stockInput?.kernelFunc;
  install(conv2dBackpropFilterWasmConfig);
  if (!stockInput?.[MARK]) {
    install({
      kernelName: 'Conv2DBackpropInput',
      backendName: 'wasm',
      kernelFunc: makeConv2dBackpropInputWasm(fallback) as unknown as KernelFunc,
    });
  }
  return ['Conv2DBackpropFilter', 'Conv2DBackpropInput'];
}
