/**
 * Pure data order. Each epoch is one permutation of the dataset drawn from (seed, epoch); global batch
 * s is order[s*B, (s+1)*B) and rank r of W takes the r-th contiguous slice of it. So W workers with
 * global batch B see exactly the images one process with batch B sees (the equivalence the
 * distributed tests check), and a resumed run sees exactly what the interrupted one would have.
 */
import { Rng } from '../util/rng.ts';

export function epochOrder(size: number, epoch: number, seed: number): Int32Array {
  const order = new Int32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  new Rng(mixSeed(seed, epoch, 0x5eed)).shuffle(order);
  return order;
}

/** Steps per epoch: full global batches only (drop_last), optionally capped. */
export function stepsPerEpoch(size: number, globalBatch: number, cap: number): number {
  const full = Math.floor(size / globalBatch);
  return cap > 0 ? Math.min(cap, full) : full;
}

/** Dataset indices of rank `rank`'s share of global batch `step`. */
export function shardIndices(
  order: Int32Array,
  step: number,
  globalBatch: number,
  rank: number,
  worldSize: number,
): Int32Array {
  const local = globalBatch / worldSize;
  const start = step * globalBatch + rank * local;
  return order.slice(start, start + local);
}

/** A 32-bit mix of integers (for per-sample augmentation streams independent of processing order). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
  }
  return h >>> 0;
}
