/**
 * Winograd layers on our own matrix products (wat/gemm.ts), in blocks of images (issue 3). Transforming a
 * whole batch first writes the 36 transformed matrices of every tile to memory (37.7 MB for the key
 * encoder's first layer at batch 64) and reads them back for the products, then does the same with the
 * products for the output transform: all of it from DRAM. In blocks of about `blockTiles` tiles the
 * transformed block, its products and the filter matrices stay in the caches: on the resnet18-cifar shapes
 * the forward pass took 2-18% less time and the filter gradient 18-27% less
 * (`npx tsx bench/kernels/bench-winograd-blocks.ts`, docs/BENCHMARKS.md). The sums over input channels are
 * unchanged (the blocks split the tiles, not the channels); on one thread the filter gradient accumulates
 * its sums over tiles block after block in the same order as one pass would, so both give bitwise the
 * results of the unblocked computation. The blocks spread over the kernel pool's threads
 * (heap-kernel-pool.ts); there each thread sums its own blocks and the threads' sums are added at the end.
 */
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { releaseAll } from './call-wasm-kernel.ts';
import type { HeapKernelPool, KernelCall } from './heap-kernel-pool.ts';
import { heapKernelPool, offsetOf, pointerTable } from './heap-kernels.ts';

/** Sizes of one Winograd convolution: NHWC input, 4x4 output tiles, row-major over images. */
export interface TileGeometry {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  outHeight: number;
  outWidth: number;
  tilesH: number;
  tilesW: number;
  tiles: number;
  /** Padding above and left of the input. */
  top: number;
  left: number;
}

/** The transforms (kernel export names) of one Winograd algorithm and the row counts of its 36 matrices. */
export interface WinogradVariant {
  /** Rows of matrix k for `tiles` tiles. */
  rows(tiles: number, k: number): number;
  filter: 'filter_transform' | 's2_filter_transform';
  input: 'input_transform' | 's2_input_transform';
  output: 'output_transform' | 's2_output_transform';
  dy: 'dy_transform' | 's2_dy_transform';
  filterGrad: 'filter_grad_transform' | 's2_filter_grad_transform';
}

/** F(4x4, 3x3) for 3x3 stride-1 layers: one row per tile in each of the 36 matrices. */
export const STRIDE_1: WinogradVariant = {
  rows: (tiles) => tiles,
  filter: 'filter_transform',
  input: 'input_transform',
  output: 'output_transform',
  dy: 'dy_transform',
  filterGrad: 'filter_grad_transform',
};

/** Polyphase for 3x3 stride-2 layers (wat/winograd-s2.ts): 1, 4 or 16 rows per tile (EE, EO/OE, OO). */
export const STRIDE_2: WinogradVariant = {
  rows: (tiles, k) => tiles * (k < 25 ? 1 : k < 35 ? 4 : 16),
  filter: 's2_filter_transform',
  input: 's2_input_transform',
  output: 's2_output_transform',
  dy: 's2_dy_transform',
  filterGrad: 's2_filter_grad_transform',
};

/**
 * Images per block: about `blockTiles` tiles, whole images, and a tile count in fours (our products' rows).
 * The whole batch when it has at most twice that many tiles.
 */
export function imagesPerBlock(g: TileGeometry, blockTiles: number): number {
  const perImage = g.tilesH * g.tilesW;
  if (g.tiles <= 2 * blockTiles) return g.n;
  let images = Math.max(1, Math.round(blockTiles / perImage));
  while ((images * perImage) % 4 !== 0) images++;
  return Math.min(images, g.n);
}

/** Allocations of one pass, released together (on errors too). */
class Scratch {
  readonly temps: TensorInfo[] = [];
  constructor(readonly wasm: BackendWasm) {}
  /** 36 matrices of [rows(k), cols] and the heap offsets of each and of their pointer table. */
  matrices(rows: (k: number) => number, cols: number): { table: number; at: number[] } {
    const parts = Array.from({ length: 36 }, (_, k) =>
      this.keep(this.wasm.makeOutput([rows(k), cols], 'float32')),
    );
    const table = this.keep(pointerTable(this.wasm, parts));
    return { table: offsetOf(this.wasm, table), at: parts.map((p) => offsetOf(this.wasm, p)) };
  }
  keep<T extends TensorInfo>(t: T): T {
    this.temps.push(t);
    return t;
  }
}

/** The image blocks: (first image, images in the block, tiles in the block). */
function blocksOf(g: TileGeometry, images: number): Array<[first: number, count: number, tiles: number]> {
  const perImage = g.tilesH * g.tilesW;
  const blocks: Array<[number, number, number]> = [];
  for (let first = 0; first < g.n; first += images) {
    const count = Math.min(images, g.n - first);
    blocks.push([first, count, count * perImage]);
  }
  return blocks;
}

/**
 * Run the blocks on the pool: thread t takes blocks t, t + threads, ... one after the other on its own
 * scratch (`calls(block, thread, index)` builds one block's calls), all in one run, so the threads meet
 * once per pass rather than once per block.
 */
function runBlocks<B>(
  pool: HeapKernelPool,
  threads: number,
  blocks: readonly B[],
  calls: (block: B, thread: number, index: number) => KernelCall[],
): void {
  const lists: KernelCall[][] = Array.from({ length: threads }, () => []);
  blocks.forEach((block, index) => lists[index % threads].push(...calls(block, index % threads, index)));
  pool.run(lists);
}

/**
 * How a pass runs its blocks: `spread` (at least as many blocks as threads: each thread takes whole blocks,
 * with its own block-sized matrices) or not (one set of matrices; the 36 products of a block are spread).
 */
function blockPlan(
  g: TileGeometry,
  images: number,
  pool: HeapKernelPool,
  s: Scratch,
  variant: WinogradVariant,
) {
  const blocks = blocksOf(g, images);
  const spread = blocks.length >= pool.threads;
  const threads = spread ? pool.threads : 1;
  const blockTiles = blocks[0][2];
  /** Per thread, 36 block-sized matrices of `cols` columns. */
  const perThread = (cols: number) =>
    Array.from({ length: threads }, () => s.matrices((p) => variant.rows(blockTiles, p), cols));
  return { blocks, spread, threads, perThread };
}

/** The input transform of images [first, first + count) of x (heap offset xAt) into the matrices of `table`. */
function inputCall(
  variant: WinogradVariant,
  g: TileGeometry,
  xAt: number,
  table: number,
  first: number,
  count: number,
): KernelCall {
  const xImage = g.h * g.w * g.ci * 4;
  return [
    variant.input,
    xAt + first * xImage,
    table,
    count,
    g.h,
    g.w,
    g.ci,
    g.tilesH,
    g.tilesW,
    g.top,
    g.left,
  ];
}

/** The 36 calls `call(p)` dealt round-robin to `threads` lists. */
function splitProducts(threads: number, call: (p: number) => KernelCall): KernelCall[][] {
  const lists: KernelCall[][] = Array.from({ length: threads }, () => []);
  for (let p = 0; p < 36; p++) lists[p % threads].push(call(p));
  return lists;
}

/**
 * y = conv2d(x, filter) by `variant` on our products: the 36 filter matrices once, then per block the
 * input transform, 36 products M_k = V_k U_k and the output transform into the block's images of y, the
 * blocks spread over the pool's threads (each with its own V and M). Needs block tile counts in fours and
 * co % 8 (the caller checks ownGemmApplies on the whole batch).
 */
export function ownWinogradForward(
  backend: KernelBackend,
  variant: WinogradVariant,
  x: TensorInfo,
  filter: TensorInfo,
  g: TileGeometry,
  images: number,
  pool: HeapKernelPool = heapKernelPool(backend as unknown as BackendWasm),
): TensorInfo {
  const wasm = backend as unknown as BackendWasm;
  const s = new Scratch(wasm);
  try {
    const { blocks, spread, threads, perThread } = blockPlan(g, images, pool, s, variant);
    const u = s.matrices(() => g.ci, g.co);
    const v = perThread(g.ci);
    const m = perThread(g.co);
    const y = wasm.makeOutput([g.n, g.outHeight, g.outWidth, g.co], 'float32');
    const [xAt, yAt] = [offsetOf(wasm, x), offsetOf(wasm, y)];
    const yImage = g.outHeight * g.outWidth * g.co * 4;
    pool.call([variant.filter, offsetOf(wasm, filter), u.table, g.ci, g.co]);
    const input = (first: number, count: number, t: number) =>
      inputCall(variant, g, xAt, v[t].table, first, count);
    const product = (p: number, tiles: number, t: number): KernelCall => [
      'matmul',
      v[t].at[p],
      u.at[p],
      m[t].at[p],
      g.ci,
      variant.rows(tiles, p),
      g.co,
      0,
    ];
    const output = (first: number, count: number, t: number): KernelCall => [
      variant.output,
      m[t].table,
      yAt + first * yImage,
      count,
      g.outHeight,
      g.outWidth,
      g.co,
      g.tilesH,
      g.tilesW,
    ];
    if (spread) {
      runBlocks(pool, threads, blocks, ([first, count, tiles], t) => [
        input(first, count, t),
        ...Array.from({ length: 36 }, (_, p) => product(p, tiles, t)),
        output(first, count, t),
      ]);
    } else {
      // Fewer blocks than threads (small layers): the transforms here, the 36 products spread over threads.
      for (const [first, count, tiles] of blocks) {
        pool.call(input(first, count, 0));
        pool.run(splitProducts(pool.threads, (p) => product(p, tiles, 0)));
        pool.call(output(first, count, 0));
      }
    }
    return y;
  } finally {
    releaseAll(backend, s.temps);
  }
}

/**
 * The filter gradient by `variant` on our products: per block the input and dy transforms and
 * Z_k += V_k^T E_k (outer_sums, accumulating after a thread's first block), the blocks spread over the pool's
 * threads (each with its own V, E and Z; the threads' sums are added at the end, so the rounding depends on
 * the thread count), then the filter-gradient transform. Needs ci % 4 and co % 8.
 */
export function ownWinogradFilterGrad(
  backend: KernelBackend,
  variant: WinogradVariant,
  x: TensorInfo,
  dy: TensorInfo,
  g: TileGeometry,
  images: number,
  pool: HeapKernelPool = heapKernelPool(backend as unknown as BackendWasm),
): TensorInfo {
  const wasm = backend as unknown as BackendWasm;
  const s = new Scratch(wasm);
  try {
    const { blocks, spread, threads, perThread } = blockPlan(g, images, pool, s, variant);
    const v = perThread(g.ci);
    const e = perThread(g.co);
    const z = Array.from({ length: threads }, () => s.matrices(() => g.ci, g.co));
    const [xAt, dyAt] = [offsetOf(wasm, x), offsetOf(wasm, dy)];
    const dyImage = g.outHeight * g.outWidth * g.co * 4;
    const transforms = (first: number, count: number, t: number): KernelCall[] => [
      inputCall(variant, g, xAt, v[t].table, first, count),
      [
        variant.dy,
        dyAt + first * dyImage,
        e[t].table,
        count,
        g.outHeight,
        g.outWidth,
        g.co,
        g.tilesH,
        g.tilesW,
      ],
    ];
    const sum = (p: number, tiles: number, t: number, accumulate: boolean): KernelCall => [
      'outer_sums',
      v[t].at[p],
      e[t].at[p],
      z[t].at[p],
      variant.rows(tiles, p),
      g.ci,
      g.co,
      accumulate ? 1 : 0,
    ];
    if (spread) {
      runBlocks(pool, threads, blocks, ([first, count, tiles], t, index) => [
        ...transforms(first, count, t),
        ...Array.from({ length: 36 }, (_, p) => sum(p, tiles, t, index >= threads)),
      ]);
    } else {
      // Fewer blocks than threads: the transforms here, the 36 sums spread over threads (each Z_k is
      // written by one thread only, so the result is the single-threaded one).
      blocks.forEach(([first, count, tiles], index) => {
        for (const call of transforms(first, count, 0)) pool.call(call);
        pool.run(splitProducts(pool.threads, (p) => sum(p, tiles, 0, index > 0)));
      });
    }
    // Z_0 += Z_t, the 36 matrices split over the threads.
    const sums: KernelCall[][] = Array.from({ length: threads }, () => []);
    for (let p = 0; p < 36; p++) {
      for (let t = 1; t < threads; t++) {
        sums[p % threads].push(['axpby', z[0].at[p], z[t].at[p], 1, 1, z[0].at[p], g.ci * g.co]);
      }
    }
    if (threads > 1) pool.run(sums);
    const dw = wasm.makeOutput([3, 3, g.ci, g.co], 'float32');
    pool.call([variant.filterGrad, z[0].table, offsetOf(wasm, dw), g.ci, g.co]);
    return dw;
  } finally {
    releaseAll(backend, s.temps);
  }
}
