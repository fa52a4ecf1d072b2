/**
 * Load tfjs-backend-wasm in Node and make it train fast (issue 3): point it at its .wasm binaries,
 * activate it, and install the gradient kernels from ./wasm-kernels.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setWasmPaths, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { registerThreadedWasmBackend } from './load-wasm-threaded.ts';
import { registerFastWasmKernels, restoreStockWasmKernels } from './wasm-kernels/register-fast-kernels.ts';
import { setWinogradPolicy, WINOGRAD_DEFAULT, WINOGRAD_OFF } from './wasm-kernels/winograd-conv.ts';

/** What the wasm backend turned out to be. */
export interface WasmBackendDetail {
  simd: boolean;
  threads: number;
  wasmDir: string;
  version: string;
  fastKernels: string[];
  /** Conv2D takes Winograd F(4x4, 3x3) for 3x3 stride-1 layers (wasm-kernels/winograd-conv.ts). */
  winograd: boolean;
}

/** Directory holding tfjs-backend-wasm*.wasm, resolved from the installed package. */
export function resolveWasmDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
}

let pathsSet = false;
let threadedRegistered = false;

/** Options of {@link loadWasmBackend}. */
export interface WasmBackendOptions {
  /** false keeps the stock kernels (benchmarks compare both). Default true. */
  fastKernels?: boolean;
  /**
   * XNNPACK threads. 1 (default here) loads the single-threaded SIMD build; > 1 loads the threaded SIMD
   * build through load-wasm-threaded.ts (what JCL_WASM_THREADS=auto picks when the process may use more
   * than one CPU; see the findings there). Fixed at first load.
   */
  threads?: number;
  /** false: XNNPACK's direct convolution for every Conv2D (benchmarks compare both). Default true. */
  winograd?: boolean;
}

/**
 * Activate the wasm backend (SIMD binary when the runtime validates SIMD, which Node 20 does).
 * Throws when the backend cannot be initialised.
 */
export async function loadWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackendDetail> {
  const wasmDir = resolveWasmDir();
  if (!pathsSet) {
    // The trailing separator matters: tfjs concatenates prefix + file name.
    setWasmPaths(wasmDir + path.sep);
    pathsSet = true;
  }
  // The thread count is fixed once the backend exists: re-registering would dispose live tensors.
  const initialised = (tf.engine().registry as Record<string, unknown>).wasm !== undefined;
  if ((options.threads ?? 1) > 1 && !threadedRegistered && !initialised) {
    registerThreadedWasmBackend(options.threads!, wasmDir);
    threadedRegistered = true;
  }
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error(`tfjs-backend-wasm failed to initialise (binaries looked up in ${wasmDir})`);
  await tf.ready();
  let fastKernels: string[] = [];
  if (options.fastKernels === false) restoreStockWasmKernels();
  else fastKernels = registerFastWasmKernels();
  const winograd = fastKernels.length > 0 && options.winograd !== false;
  setWinogradPolicy(winograd ? WINOGRAD_DEFAULT : WINOGRAD_OFF);
  return {
    simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    threads: getThreadsCount(),
    wasmDir,
    version: version_wasm,
    fastKernels,
    winograd,
  };
}
