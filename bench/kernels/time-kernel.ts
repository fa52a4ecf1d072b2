/**
 * Timing helper for kernel benchmarks: wall time and process CPU time of a function whose result is
 * read back (dataSync) so asynchronous backends are measured to completion; every result is disposed.
 * On a shared, oversubscribed node the CPU time of a single-threaded kernel is the steadier figure
 * (it excludes time spent waiting for a core); both are medians over `reps` runs after `warmup`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { median } from '../../worker/src/util/stats.ts';

/** Median wall and CPU milliseconds. */
export interface KernelTiming {
  ms: number;
  cpuMs: number;
}

/** Time `fn` (see file comment). */
export function timeKernel(fn: () => tf.Tensor | tf.Tensor[], reps = 5, warmup = 1): KernelTiming {
  return timeRun(
    () => {
      const out = fn();
      const list = Array.isArray(out) ? out : [out];
      for (const t of list) t.dataSync();
      tf.dispose(list);
    },
    reps,
    warmup,
  );
}

/** Median wall and CPU milliseconds of `run` (synchronous, cleaning up after itself). */
export function timeRun(run: () => void, reps = 5, warmup = 1): KernelTiming {
  for (let i = 0; i < warmup; i++) run();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    run();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { ms: median(wall), cpuMs: median(cpu) };
}
