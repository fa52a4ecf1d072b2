/**
 * Load @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu (libtensorflow bindings). They are optional
 * peer dependencies, installed by `npm run setup:tensorflow [-- --gpu]` (scripts/setup-tensorflow.ts: the
 * binding built against PyPI's TensorFlow wheels; their own install script downloads from a host outside
 * the registries). Importing one registers the 'tensorflow' backend.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The packages a backend name may load, in order: `tensorflow` also takes the GPU build (it runs on the
 * CPU when TensorFlow sees no GPU), so a GPU image that has only tfjs-node-gpu serves both names.
 */
export const NATIVE_PACKAGES = {
  tensorflow: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  'tensorflow-gpu': ['@tensorflow/tfjs-node-gpu'],
} as const;

export type NativeBackendName = keyof typeof NATIVE_PACKAGES;

/** Dynamic import, injectable so tests can simulate installed and missing packages. */
export type ImportModule = (specifier: string) => Promise<unknown>;

/** What the loaded library says about itself, for the start-up log and `jcl selftest`. */
export interface NativeFacts {
  /** libtensorflow's TF_Version(). */
  tensorflow: string;
  /** The device tfjs-node places ops on: its first GPU when TensorFlow sees one, else the CPU. */
  device: 'GPU:0' | 'CPU:0';
  /** How setup:tensorflow built the binding (wheels, CUDA/cuDNN build info), or why that is not known. */
  build: Record<string, unknown> | string;
}

/** Result of trying a native package: loaded with its version, or why not. */
export type NativeLoadResult =
  | { ok: true; packageName: string; version: string; facts: NativeFacts }
  | { ok: false; packageName: string; missing: boolean; error: unknown };

/** True for the errors Node raises when a package is not installed. */
export function isModuleNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/** The record setup:tensorflow leaves in the package it installed (scripts/setup-tensorflow.ts). */
export const BUILD_RECORD = 'jcl-build.json';

function readBuildRecord(packageName: string): NativeFacts['build'] {
  try {
    const dir = path.dirname(createRequire(import.meta.url).resolve(`${packageName}/package.json`));
    const file = path.join(dir, BUILD_RECORD);
    if (!existsSync(file)) return `not installed by npm run setup:tensorflow (no ${BUILD_RECORD})`;
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    return `unreadable: ${(err as Error).message}`;
  }
}

/** The binding's own answers (tfjs-node's NodeJSKernelBackend keeps it as `binding`). */
function nativeFacts(packageName: string): NativeFacts {
  const binding = (
    tf.backend() as unknown as { binding?: { TF_Version?: string; isUsingGpuDevice?: () => boolean } }
  ).binding;
  return {
    tensorflow: binding?.TF_Version ?? 'unknown',
    device: binding?.isUsingGpuDevice?.() ? 'GPU:0' : 'CPU:0',
    build: readBuildRecord(packageName),
  };
}

async function loadPackage(packageName: string, importModule: ImportModule): Promise<NativeLoadResult> {
  try {
    const mod = (await importModule(packageName)) as { version?: Record<string, string> };
    if (!(await tf.setBackend('tensorflow'))) {
      return {
        ok: false,
        packageName,
        missing: false,
        error: new Error(`${packageName} loaded but the 'tensorflow' backend did not initialise`),
      };
    }
    await tf.ready();
    const version = mod.version?.['tfjs-node'] ?? mod.version?.tfjs ?? 'unknown';
    return { ok: true, packageName, version, facts: nativeFacts(packageName) };
  } catch (error) {
    return { ok: false, packageName, missing: isModuleNotFound(error), error };
  }
}

/**
 * Import the first installed package for `name` and activate the 'tensorflow' backend it registers. A
 * package that is installed but fails to load is reported as such (not passed over for the next one).
 */
export async function loadNativeBackend(
  name: NativeBackendName,
  importModule: ImportModule,
): Promise<NativeLoadResult> {
  let result: NativeLoadResult | undefined;
  for (const packageName of NATIVE_PACKAGES[name]) {
    result = await loadPackage(packageName, importModule);
    if (result.ok || !result.missing) return result;
  }
  // Every candidate is missing: report the first (the package to install).
  return { ...(result as NativeLoadResult & { ok: false }), packageName: NATIVE_PACKAGES[name][0] };
}
