/**
 * Timing helper for kernel benchmarks: median wall time of a function whose result is read back
 * (dataSync) so asynchronous backends are measured to completion; every result is disposed.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Median milliseconds of `reps` runs after `warmup` runs. */
export function timeMedianMs(fn: () => tf.Tensor | tf.Tensor[], reps = 5, warmup = 1): number {
  const run = () => {
    const out = fn();
    const list = Array.isArray(out) ? out : [out];
    for (const t of list) t.dataSync();
    tf.dispose(list);
  };
  for (let i = 0; i < warmup; i++) run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}
