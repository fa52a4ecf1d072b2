/**
 * Per-kernel wall-time accounting for a backend: every registered kernel of `backendName` is
 * wrapped with a timer (lighter than tf.profile, which also reads every output back). Kernels that
 * call other kernels' functions (as ours do) are charged in full; their nested calls are not counted.
 */
import {
  getKernelsForBackend,
  registerKernel,
  unregisterKernel,
  type KernelConfig,
  type KernelFunc,
} from '@tensorflow/tfjs-core';

/** Accumulated wall and process-CPU milliseconds and calls per kernel name. */
export type KernelTimes = Map<string, { ms: number; cpuMs: number; calls: number }>;

/** `name` alone, or with the input shapes when `byShape` lists the kernel (e.g. "Conv2D 32x32x32x64 3x3x64x64"). */
function entryKey(name: string, args: Parameters<KernelFunc>[0], byShape: ReadonlySet<string>): string {
  if (!byShape.has(name)) return name;
  const shapes = Object.values(args.inputs).map((t) => (t === undefined ? '-' : t.shape.join('x')));
  return `${name} ${shapes.join(' ')}`;
}

/**
 * Install timers; returns the live table and a function that restores the original kernels. Kernels named
 * in `byShape` get one row per combination of input shapes.
 */
export function installKernelTimers(
  backendName: string,
  byShape: ReadonlySet<string> = new Set(),
): { times: KernelTimes; uninstall: () => void } {
  const times: KernelTimes = new Map();
  let depth = 0;
  const originals: KernelConfig[] = getKernelsForBackend(backendName);
  for (const config of originals) {
    const inner = config.kernelFunc;
    const timed: KernelFunc = (args) => {
      const t0 = performance.now();
      const c0 = depth === 0 ? process.cpuUsage() : undefined;
      depth++;
      try {
        return inner(args);
      } finally {
        depth--;
        if (depth === 0) {
          const key = entryKey(config.kernelName, args, byShape);
          const entry = times.get(key) ?? { ms: 0, cpuMs: 0, calls: 0 };
          entry.ms += performance.now() - t0;
          const c = process.cpuUsage(c0);
          entry.cpuMs += (c.user + c.system) / 1000;
          entry.calls += 1;
          times.set(key, entry);
        }
      }
    };
    unregisterKernel(config.kernelName, backendName);
    registerKernel({ ...config, kernelFunc: timed });
  }
  return {
    times,
    uninstall: () => {
      for (const config of originals) {
        unregisterKernel(config.kernelName, backendName);
        registerKernel(config);
      }
    },
  };
}
