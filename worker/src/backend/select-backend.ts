/**
 * Choose and initialise the TensorFlow.js backend the trainer runs on (issue 3). This is an I/O edge:
 * it imports packages, looks at device files and the environment (all injectable for tests).
 *
 *   auto: tfjs-node-gpu when importable and a GPU is visible, else tfjs-node (TensorFlow's CPU kernels) when
 *         installed, else the fast wasm path (tfjs-backend-wasm + worker/src/backend/wasm-kernels), else
 *         tfjs-backend-cpu. On a CPU, tfjs-node built on the TensorFlow 2.21 wheel is the faster path as
 *         measured (1.3-1.4x wasm for resnet18-cifar, 1.3-1.9x for resnet50 at 224 px, even on resnet-tiny;
 *         docs/BENCHMARKS.md, "Native TensorFlow backend"); wasm needs no install, so a fresh clone uses it.
 *   an explicit name: that backend or a JclError('invalid_config') saying what to install.
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { BackendName } from '../config/schema.ts';
import { cpuBudget, threadsForCpus } from '../util/cpu-budget.ts';
import { describeError, JclError } from '../util/errors.ts';
import { detectGpu } from './detect-gpu.ts';
import {
  loadNativeBackend,
  NATIVE_PACKAGES,
  type ImportModule,
  type NativeBackendName,
} from './load-native-backend.ts';
import { loadWasmBackend } from './load-wasm-backend.ts';

/** The backend in use after {@link initBackend}. */
export interface BackendInfo {
  requested: BackendName;
  /** tf.getBackend(): 'tensorflow', 'wasm' or 'cpu'. */
  name: string;
  /** Facts for logs and benchmarks: simd, threads, fast kernels, native package and version, GPU reason. */
  detail: Record<string, string | number | boolean | string[]>;
}

/** The part of a pino logger this module uses. */
export interface BackendLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Injectable edges; the defaults are the real ones. */
export interface BackendDeps {
  importModule?: ImportModule;
  env?: Readonly<Record<string, string | undefined>>;
  fileExists?: (path: string) => boolean;
}

const TFJS_VERSION = tf.version_core;

function installHint(name: NativeBackendName): string {
  const gpu = name === 'tensorflow-gpu' ? ' -- --gpu' : '';
  return `run \`npm run setup:tensorflow${gpu}\` in the jcl-operator checkout (${NATIVE_PACKAGES[name][0]}@${TFJS_VERSION} built against TensorFlow's PyPI wheels${gpu ? ', CUDA 12 / cuDNN 9, NVIDIA driver >= 525' : ''}), or use the jcl-gpu image`;
}

/**
 * TensorFlow's settings for this process, unless the environment sets them: intra-op threads for the
 * CPUs it may use (cpu-budget.ts: a pod's CPU limit, or the share `jcl train --workers N` gives each
 * process) and one inter-op thread. TensorFlow reads them when its context is created, i.e. when
 * tfjs-node is imported, so this runs before the import. Without it TensorFlow takes every core of the
 * node whatever the pod's limit. (Its few start-up lines on stderr, oneDNN's notice among them, come
 * before absl's logging starts: TF_CPP_MIN_LOG_LEVEL does not silence them.)
 */
export function nativeProcessEnv(
  env: Readonly<Record<string, string | undefined>>,
  budget: () => number = cpuBudget,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!env.TF_NUM_INTRAOP_THREADS) out.TF_NUM_INTRAOP_THREADS = String(Math.max(1, Math.floor(budget())));
  if (!env.TF_NUM_INTEROP_THREADS) out.TF_NUM_INTEROP_THREADS = '1';
  return out;
}

async function initNative(
  requested: BackendName,
  name: NativeBackendName,
  deps: Required<BackendDeps>,
  gpuReason?: string,
): Promise<BackendInfo> {
  const threads = nativeProcessEnv(deps.env);
  if (deps.env === process.env) Object.assign(process.env, threads);
  const result = await loadNativeBackend(name, deps.importModule);
  if (!result.ok) {
    const why = result.missing ? 'is not installed' : `failed to load: ${describeError(result.error)}`;
    throw new JclError(
      'invalid_config',
      `backend '${name}' requested but ${result.packageName} ${why}; ${installHint(name)}`,
      {
        cause: result.error,
      },
    );
  }
  const { tensorflow, device, build } = result.facts;
  const detail: BackendInfo['detail'] = {
    package: result.packageName,
    nativeVersion: result.version,
    tensorflow,
    device,
    build: typeof build === 'string' ? build : JSON.stringify(build),
    intraOpThreads: deps.env.TF_NUM_INTRAOP_THREADS ?? threads.TF_NUM_INTRAOP_THREADS,
  };
  if (gpuReason !== undefined) detail.gpu = gpuReason;
  return { requested, name: tf.getBackend(), detail };
}

/**
 * XNNPACK threads for the wasm backend from JCL_WASM_THREADS: an integer from 1 to 8, or `auto` (also when
 * unset): one per CPU this process may use (cpu-budget.ts; at most 8). `jcl train --workers N` gives each of
 * its N processes an explicit share of the machine. Threads pay only on cores nobody else uses: on a busy
 * node the pool's spin-waits make steps slower (docs/BENCHMARKS.md, "Fast CPU path").
 */
export function parseWasmThreads(raw: string | undefined, budget: () => number = cpuBudget): number {
  if (raw === undefined || raw === '' || raw === 'auto') return threadsForCpus(budget());
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 8) {
    throw new JclError(
      'invalid_config',
      `JCL_WASM_THREADS: expected auto or an integer from 1 to 8, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

/**
 * Winograd F(4x4, 3x3) for the wasm backend's 3x3 stride-1 convolutions, from JCL_WINOGRAD: `on` (also
 * when unset) or `off` (XNNPACK's direct convolution everywhere; benchmarks compare both). Winograd
 * rounds differently from the direct convolution (relative differences ~1e-5, docs/BENCHMARKS.md).
 */
export function parseWinograd(raw: string | undefined): boolean {
  if (raw === undefined || raw === '' || raw === 'on') return true;
  if (raw === 'off') return false;
  throw new JclError('invalid_config', `JCL_WINOGRAD: expected on or off, got ${JSON.stringify(raw)}`);
}

async function initWasm(requested: BackendName, env: NodeJS.ProcessEnv): Promise<BackendInfo> {
  const threads = parseWasmThreads(env.JCL_WASM_THREADS);
  const winograd = parseWinograd(env.JCL_WINOGRAD);
  try {
    const d = await loadWasmBackend({ threads, winograd });
    return {
      requested,
      name: tf.getBackend(),
      detail: {
        simd: d.simd,
        threads: d.threads,
        fastKernels: d.fastKernels,
        winograd: d.winograd,
        wasmVersion: d.version,
        wasmDir: d.wasmDir,
      },
    };
  } catch (err) {
    throw new JclError(
      'invalid_config',
      `backend 'wasm' requested but tfjs-backend-wasm failed to initialise: ${describeError(err)}`,
      {
        cause: err,
      },
    );
  }
}

async function initCpu(requested: BackendName): Promise<BackendInfo> {
  await tf.setBackend('cpu');
  await tf.ready();
  return { requested, name: tf.getBackend(), detail: {} };
}

/** `auto`: try each candidate in order of speed, logging why each one was passed over. */
async function initAuto(deps: Required<BackendDeps>, log?: BackendLogger): Promise<BackendInfo> {
  const gpu = detectGpu({ env: deps.env, fileExists: deps.fileExists });
  const candidates: Array<() => Promise<BackendInfo>> = [];
  if (gpu.visible) candidates.push(() => initNative('auto', 'tensorflow-gpu', deps, gpu.reason));
  else log?.info({ gpu: gpu.reason }, 'backend auto: no GPU visible, skipping tensorflow-gpu');
  candidates.push(
    () => initNative('auto', 'tensorflow', deps),
    () => initWasm('auto', deps.env),
    () => initCpu('auto'),
  );
  for (const candidate of candidates) {
    try {
      return await candidate();
    } catch (err) {
      log?.info({ reason: describeError(err) }, 'backend auto: candidate unavailable, trying the next');
    }
  }
  throw new JclError('internal', 'no TensorFlow.js backend could be initialised');
}

/**
 * Initialise the backend for `requested` (the `runtime.backend` / JCL_BACKEND setting) and log the
 * choice. Throws JclError('invalid_config') when an explicitly requested backend is unavailable.
 * Call once at start-up, before any tensor is created.
 */
export async function initBackend(
  requested: BackendName,
  log?: BackendLogger,
  deps: BackendDeps = {},
): Promise<BackendInfo> {
  const full: Required<BackendDeps> = {
    importModule: deps.importModule ?? ((specifier) => import(specifier)),
    env: deps.env ?? process.env,
    fileExists: deps.fileExists ?? existsSync,
  };
  let info: BackendInfo;
  switch (requested) {
    case 'auto':
      info = await initAuto(full, log);
      break;
    case 'tensorflow-gpu': {
      const gpu = detectGpu({ env: full.env, fileExists: full.fileExists });
      if (!gpu.visible) {
        throw new JclError(
          'invalid_config',
          `backend 'tensorflow-gpu' requested but no GPU is visible (${gpu.reason}); use 'tensorflow' or 'auto' on CPU nodes`,
        );
      }
      info = await initNative(requested, 'tensorflow-gpu', full, gpu.reason);
      break;
    }
    case 'tensorflow':
      info = await initNative(requested, 'tensorflow', full);
      break;
    case 'wasm':
      info = await initWasm(requested, full.env);
      break;
    case 'cpu':
      info = await initCpu(requested);
      break;
    default:
      throw new JclError(
        'invalid_config',
        `runtime.backend: expected auto|tensorflow-gpu|tensorflow|wasm|cpu, got ${JSON.stringify(requested)}`,
      );
  }
  log?.info(
    { backend: info.name, requested: info.requested, ...info.detail },
    'TensorFlow.js backend initialised',
  );
  return info;
}
