/**
 * Register a multi-threaded 'wasm' backend in Node (issue 3; used when JCL_WASM_THREADS resolves to more
 * than 1, the default on a multi-CPU budget). tfjs-backend-wasm ships a threaded SIMD build but
 * disables it in Node (WASM_HAS_MULTITHREAD_SUPPORT is false there, tfjs issue 3830) and its loader
 * hands Emscripten blob: URLs, which Node's worker_threads cannot start.
 * Findings, measured in docs/BENCHMARKS.md:
 *
 * 1. The threaded module loads in Node when its pthread worker script is a real file and the main
 *    script is given as a path (both are written/resolved here).
 * 2. XNNPACK's pool is capped at emscripten_num_logical_cores() / 2 (a hyper-threading guess), i.e.
 *    os.cpus().length / 2: one thread on a 2-vCPU node whatever setThreadsCount says. We report the
 *    doubled core count while the module initialises so the pool gets `threads` threads.
 * 3. Pthread workers keep the event loop alive; they are unref'ed so the process can exit.
 */
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

type EmscriptenWorker = { unref?: () => void };
type ThreadedModule = {
  cwrap: (name: string, ret: string | null, args: string[]) => (...a: number[]) => number;
  PThread?: { unusedWorkers: EmscriptenWorker[]; runningWorkers: EmscriptenWorker[] };
  tfjs?: Record<string, unknown>;
};

/** Mirrors the `tfjs` namespace that tfjs-backend-wasm's own init() attaches to the module. */
function attachTfjsApi(module: ThreadedModule): void {
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
}

/**
 * Replace the registered 'wasm' backend factory with one that instantiates the threaded SIMD build
 * with `threads` XNNPACK threads. Call before the first tf.setBackend('wasm'); kernels (ours included)
 * stay registered under 'wasm' and work unchanged.
 */
export function registerThreadedWasmBackend(threads: number, wasmDir: string): void {
  const require = createRequire(import.meta.url);
  const outDir = path.join(wasmDir, '..', 'wasm-out');
  const factory = require(path.join(outDir, 'tfjs-backend-wasm-threaded-simd.js')) as (
    cfg: object,
  ) => Promise<ThreadedModule>;
  const { wasmWorkerContents } = require(path.join(outDir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  const workerFile = path.join(os.tmpdir(), `jcl-tfjs-wasm-threaded-${process.pid}.worker.js`);
  // The contents come from a template literal: escaped newlines inside strings must stay escaped.
  writeFileSync(workerFile, wasmWorkerContents.replace(/\n/g, '\\n'));
  setThreadsCount(threads);
  if (tf.findBackendFactory('wasm') !== null) tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      const realCpus = os.cpus;
      const cores = Math.max(realCpus().length, threads);
      os.cpus = () => Array.from({ length: 2 * cores }, () => realCpus()[0]);
      let module: ThreadedModule;
      try {
        module = await factory({
          locateFile: (file: string) =>
            file.endsWith('.worker.js')
              ? workerFile
              : path.join(wasmDir, 'tfjs-backend-wasm-threaded-simd.wasm'),
          mainScriptUrlOrBlob: path.join(outDir, 'tfjs-backend-wasm-threaded-simd.js'),
        });
        attachTfjsApi(module);
        const backend = new BackendWasm(module as never);
        for (const w of [...(module.PThread?.unusedWorkers ?? []), ...(module.PThread?.runningWorkers ?? [])])
          w.unref?.();
        return backend;
      } finally {
        os.cpus = realCpus;
      }
    },
    2,
  );
}
