/**
 * Chooses and activates the TensorFlow.js backend (issue 3):
 * auto = tensorflow-gpu (when @tensorflow/tfjs-node-gpu is installed and a GPU is visible), else
 * tensorflow (@tensorflow/tfjs-node), else the fast wasm path, else cpu. The native packages are
 * optional: GPU images install them; a requested but missing one is a configuration error.
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../config/schema.ts';
import { JclError } from '../util/errors.ts';
import { loadWasmBackend } from './load-wasm-backend.ts';

export interface BackendInfo {
  requested: BackendName;
  name: string;
  detail: Record<string, unknown>;
}

interface LogLike {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

const NATIVE: Record<'tensorflow-gpu' | 'tensorflow', { pkg: string; backend: string }> = {
  'tensorflow-gpu': { pkg: '@tensorflow/tfjs-node-gpu', backend: 'tensorflow' },
  tensorflow: { pkg: '@tensorflow/tfjs-node', backend: 'tensorflow' },
};

/** True when a CUDA device is plausibly visible to this process. */
export function gpuVisible(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  if (env.CUDA_VISIBLE_DEVICES !== undefined && (env.CUDA_VISIBLE_DEVICES === '' || env.CUDA_VISIBLE_DEVICES === '-1')) return false;
  return existsSync('/dev/nvidia0') || existsSync('/dev/nvidiactl');
}

async function tryNative(kind: 'tensorflow-gpu' | 'tensorflow'): Promise<BackendInfo | { error: unknown }> {
  const { pkg, backend } = NATIVE[kind];
  try {
    await import(pkg);
    if (!(await tf.setBackend(backend))) return { error: new Error(`${pkg} loaded but backend '${backend}' failed to initialise`) };
    await tf.ready();
    return { requested: kind, name: tf.getBackend(), detail: { package: pkg } };
  } catch (error) {
    return { error };
  }
}

/** Activates the requested backend and returns what was chosen; throws a JclError if impossible. */
export async function initBackend(requested: BackendName, log?: LogLike): Promise<BackendInfo> {
  const chosen = await choose(requested, log);
  log?.info({ backend: chosen.name, requested, ...chosen.detail }, 'TensorFlow.js backend selected');
  return chosen;
}

async function choose(requested: BackendName, log?: LogLike): Promise<BackendInfo> {
  if (requested === 'tensorflow-gpu' || requested === 'tensorflow') {
    const r = await tryNative(requested);
    if ('error' in r) {
      throw new JclError('invalid_config', `runtime.backend: ${requested} is not available (npm install ${NATIVE[requested].pkg}@4.22.0; the GPU build needs CUDA 11.2 + cuDNN 8.1), got ${requested}`, { cause: r.error });
    }
    return r;
  }
  if (requested === 'auto') {
    for (const kind of gpuVisible() ? (['tensorflow-gpu', 'tensorflow'] as const) : (['tensorflow'] as const)) {
      const r = await tryNative(kind);
      if (!('error' in r)) return { ...r, requested };
    }
  }
  if (requested === 'wasm' || requested === 'auto') {
    try {
      const detail = await loadWasmBackend();
      return { requested, name: 'wasm', detail: { ...detail } };
    } catch (err) {
      if (requested === 'wasm') throw new JclError('invalid_config', 'runtime.backend: wasm failed to initialise, got wasm', { cause: err });
      log?.warn({ err: String(err) }, 'wasm backend unavailable, falling back to cpu');
    }
  }
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  await tf.ready();
  return { requested, name: 'cpu', detail: {} };
}
