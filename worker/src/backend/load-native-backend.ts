/**
 * Load @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu (libtensorflow bindings). They are optional
 * peer dependencies: GPU images install them, the default image does not (their install script
 * downloads libtensorflow). Importing one registers the 'tensorflow' backend.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The two native packages, by the backend name a config asks for. */
export const NATIVE_PACKAGES = {
  tensorflow: '@tensorflow/tfjs-node',
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
} as const;

export type NativeBackendName = keyof typeof NATIVE_PACKAGES;

/** Dynamic import, injectable so tests can simulate installed and missing packages. */
export type ImportModule = (specifier: string) => Promise<unknown>;

/** Result of trying a native package: loaded with its version, or why not. */
export type NativeLoadResult =
  | { ok: true; packageName: string; version: string }
  | { ok: false; packageName: string; missing: boolean; error: unknown };

/** True for the errors Node raises when a package is not installed. */
export function isModuleNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/** Import the native package for `name` and activate the 'tensorflow' backend it registers. */
export async function loadNativeBackend(
  name: NativeBackendName,
  importModule: ImportModule,
): Promise<NativeLoadResult> {
  const packageName = NATIVE_PACKAGES[name];
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
    return { ok: true, packageName, version: mod.version?.['tfjs-node'] ?? mod.version?.tfjs ?? 'unknown' };
  } catch (error) {
    return { ok: false, packageName, missing: isModuleNotFound(error), error };
  }
}
