/**
 * Pure ring schedules: which segment a rank sends and receives at each step, and how segments split into
 * chunks. No I/O; the collective algorithms (ring-collective.ts) follow these tables.
 *
 * The ring all-reduce (Patarasuk & Yuan 2009; Horovod, NCCL) runs n-1 reduce-scatter steps then n-1
 * all-gather steps. Numbering segments 0..n-1:
 *  1. Reduce-scatter step s: rank r sends segment (r - s) mod n to r+1 and receives (r - s - 1) mod n from
 *     r-1, adding it to its own copy. After n-1 steps rank r holds the full sum of segment (r + 1) mod n.
 *  2. All-gather step s: rank r sends segment (r + 1 - s) mod n and receives (r - s) mod n, overwriting.
 *  3. In both phases the segment received at step t is exactly the segment sent at step t+1, so a rank can
 *     forward each chunk as soon as it has arrived (chunk-level pipelining): a transfer never waits on a
 *     whole segment or bucket.
 */

/** What one rank does at one ring step. */
export interface RingStep {
  /** Segment index sent to the next rank. */
  send: number;
  /** Segment index received from the previous rank. */
  recv: number;
  /** reduce: add the received values; copy: overwrite with them. */
  op: 'reduce' | 'copy';
}

/** Half-open element range [start, end). */
export interface Range {
  start: number;
  end: number;
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

/** Next and previous rank on the ring. */
export function ringNeighbours(rank: number, worldSize: number): { next: number; prev: number } {
  return { next: mod(rank + 1, worldSize), prev: mod(rank - 1, worldSize) };
}

/** The 2(n-1) steps of ring all-reduce for `rank` (empty for n = 1). */
export function allReduceSchedule(rank: number, worldSize: number): RingStep[] {
  const steps: RingStep[] = [];
  for (let s = 0; s < worldSize - 1; s++) {
    steps.push({ send: mod(rank - s, worldSize), recv: mod(rank - s - 1, worldSize), op: 'reduce' });
  }
  for (let s = 0; s < worldSize - 1; s++) {
    steps.push({ send: mod(rank + 1 - s, worldSize), recv: mod(rank - s, worldSize), op: 'copy' });
  }
  return steps;
}

/** The n-1 steps of ring all-gather, where block r starts on rank r. */
export function allGatherSchedule(rank: number, worldSize: number): RingStep[] {
  const steps: RingStep[] = [];
  for (let s = 0; s < worldSize - 1; s++) {
    steps.push({ send: mod(rank - s, worldSize), recv: mod(rank - s - 1, worldSize), op: 'copy' });
  }
  return steps;
}

/**
 * Split `length` elements into `parts` contiguous, balanced segments: the first `length % parts` segments get
 * one extra element, so segments differ by at most one and may be empty when length < parts.
 */
export function segmentRanges(length: number, parts: number): Range[] {
  const base = Math.floor(length / parts);
  const extra = length % parts;
  const ranges: Range[] = [];
  let start = 0;
  for (let i = 0; i < parts; i++) {
    const end = start + base + (i < extra ? 1 : 0);
    ranges.push({ start, end });
    start = end;
  }
  return ranges;
}

/** Cut a range into chunks of at most `chunkElems` elements (none for an empty range). */
export function chunkRanges(range: Range, chunkElems: number): Range[] {
  if (!Number.isInteger(chunkElems) || chunkElems < 1) {
    throw new RangeError(`chunkRanges: chunkElems must be an integer >= 1, got ${chunkElems}`);
  }
  const chunks: Range[] = [];
  for (let start = range.start; start < range.end; start += chunkElems) {
    chunks.push({ start, end: Math.min(range.end, start + chunkElems) });
  }
  return chunks;
}

/**
 * Broadcast along the ring from `root`: every rank but the root receives from its predecessor, and every rank
 * whose successor is not the root forwards.
 */
export function broadcastRoles(
  rank: number,
  worldSize: number,
  root: number,
): { receives: boolean; forwards: boolean } {
  const { next } = ringNeighbours(rank, worldSize);
  return { receives: rank !== root, forwards: worldSize > 1 && next !== root };
}
