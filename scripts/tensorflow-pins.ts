/**
 * The one place the native TensorFlow backend's versions are pinned (issue 14), and the pure decisions of
 * `npm run setup:tensorflow`: which wheels a flavour needs, which of their members are laid out, and where
 * everything lives in the cache. No I/O here; scripts/setup-tensorflow.ts does it.
 *
 * Why wheels: @tensorflow/tfjs-node(-gpu) 4.22.0's install script downloads libtensorflow 2.9.1 (CUDA 11.2,
 * cuDNN 8.1) from a host outside the package registries. PyPI's TensorFlow wheels ship the same C API
 * (libtensorflow_cc.so.2 + libtensorflow_framework.so.2 + headers); the GPU wheel finds CUDA 12 through
 * its RUNPATH `$ORIGIN/../nvidia/<lib>/lib`, i.e. the nvidia-*-cu12 wheels laid out as in site-packages.
 * The tfjs-node version itself is package.json's peer dependency (read there, not repeated here).
 */
import path from 'node:path';

/** TensorFlow whose C library the binding is built against. */
export const TENSORFLOW_VERSION = '2.21.0';

/**
 * Wheels are CPython-specific only in their Python extension modules; the C libraries we take are the same
 * in every cp3xx wheel, so one tag is pinned and the local Python's version does not matter.
 */
export const WHEEL_PYTHON = '3.11';
export const WHEEL_PLATFORMS = ['manylinux_2_27_x86_64', 'manylinux_2_17_x86_64', 'manylinux2014_x86_64'];

export type Flavour = 'cpu' | 'gpu';

/** One pinned PyPI wheel. */
export interface WheelPin {
  name: string;
  version: string;
}

/**
 * The CUDA 12 runtime wheels of `tensorflow[and-cuda]==2.21.0`, at the lowest versions its metadata allows
 * (the ones it was built and tested against). nvcc (XLA's ptxas) and cupti (profiling) are left out: the
 * binding runs neither XLA JIT nor the profiler.
 */
export const CUDA_WHEELS: readonly WheelPin[] = [
  { name: 'nvidia-cublas-cu12', version: '12.5.3.2' },
  { name: 'nvidia-cuda-nvrtc-cu12', version: '12.5.82' },
  { name: 'nvidia-cuda-runtime-cu12', version: '12.5.82' },
  { name: 'nvidia-cudnn-cu12', version: '9.3.0.75' },
  { name: 'nvidia-cufft-cu12', version: '11.2.3.61' },
  { name: 'nvidia-curand-cu12', version: '10.3.6.82' },
  { name: 'nvidia-cusolver-cu12', version: '11.6.3.83' },
  { name: 'nvidia-cusparse-cu12', version: '12.5.1.3' },
  { name: 'nvidia-nccl-cu12', version: '2.27.7' },
  { name: 'nvidia-nvjitlink-cu12', version: '12.5.82' },
];

/** CUDA / cuDNN the GPU flavour provides (for logs and docs; the wheels above are the truth). */
export const CUDA_VERSION = '12.5';
export const CUDNN_VERSION = '9.3';

/** The wheels of a flavour: the TensorFlow wheel first. */
export function wheelsFor(flavour: Flavour): WheelPin[] {
  return flavour === 'cpu'
    ? [{ name: 'tensorflow-cpu', version: TENSORFLOW_VERSION }]
    : [{ name: 'tensorflow', version: TENSORFLOW_VERSION }, ...CUDA_WHEELS];
}

/** The npm package whose binding is built: tfjs-node on CPU, tfjs-node-gpu (same binding code) on GPU. */
export function npmPackageFor(flavour: Flavour): '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu' {
  return flavour === 'cpu' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu';
}

/** The file-name prefix of a wheel (`tensorflow_cpu-2.21.0-`): PEP 427 replaces `-` by `_` in the name. */
export function wheelFilePrefix(pin: WheelPin): string {
  return `${pin.name.replace(/[-.]/g, '_')}-${pin.version}-`;
}

/**
 * Which members of a wheel are laid out (regular expressions, as strings so Python's zipfile applies the
 * same ones): the two shared libraries and the C API headers (tensorflow/c and what it includes: the
 * ctstring headers of tensorflow/core/platform and tsl/platform, xla/tsl/c), every library of an nvidia wheel.
 */
export const KEPT_MEMBERS: readonly string[] = [
  String.raw`^tensorflow/libtensorflow(_cc|_framework)\.so\.2$`,
  String.raw`^tensorflow/include/(tensorflow/c|tensorflow/core/platform|tsl/platform|xla/tsl/c)/.+\.h$`,
  String.raw`^nvidia/[^/]+/lib/[^/]+\.so[.\d]*$`,
];

/** Whether {@link KEPT_MEMBERS} keeps a wheel member. */
export function keepsMember(member: string): boolean {
  return KEPT_MEMBERS.some((re) => new RegExp(re).test(member));
}

/** Where a flavour lives under the cache (`~/.cache/jcl-operator/tensorflow/...`). */
export interface CacheLayout {
  /** Downloaded wheels, shared by both flavours. */
  wheels: string;
  /** The site-packages-like tree: site/tensorflow/{libtensorflow_cc.so.2,...,include}, site/nvidia/. */
  site: string;
  /** An npm prefix holding the package and its dependencies, with the binding built. */
  npm: string;
}

/** The cache layout of a flavour; `cacheDir` is $JCL_CACHE_DIR or ~/.cache/jcl-operator. */
export function cacheLayout(cacheDir: string, flavour: Flavour): CacheLayout {
  const root = path.join(cacheDir, 'tensorflow');
  const flavourDir = path.join(root, TENSORFLOW_VERSION, flavour);
  return {
    wheels: path.join(root, 'wheels'),
    site: path.join(flavourDir, 'site'),
    npm: path.join(flavourDir, 'npm'),
  };
}

/** What a finished step records; a step whose stamp differs from this runs again. */
export function stamp(flavour: Flavour, tfjsNodeVersion: string): string {
  return JSON.stringify({
    setup: 2, // bump when setup-tensorflow.ts lays out or records differently
    flavour,
    tensorflow: TENSORFLOW_VERSION,
    tfjsNode: tfjsNodeVersion,
    wheels: wheelsFor(flavour),
    kept: KEPT_MEMBERS,
  });
}
