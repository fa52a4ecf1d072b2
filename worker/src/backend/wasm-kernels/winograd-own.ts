/**
 * Winograd layers on our own matrix products (wat/gemm.ts), in blocks of images (issue 3). Transforming a
 * whole batch first writes the 36 transformed matrices of every tile to memory (37.7 MB for the key
 * encoder's first layer at batch 64) and reads them back for the products, then does the same with the
 * products for the output transform: all of it from DRAM. In blocks of about `blockTiles` tiles the
 * transformed block, its products and the filter matrices stay in the caches: on the resnet18-cifar shapes
 * the forward pass took 2-18% less time and the filter gradient 18-27% less
 * (`npx tsx bench/kernels/bench-winograd-blocks.ts`, docs/BENCHMARKS.md). The sums over input channels are
 * unchanged (the blocks split the tiles, not the channels); the filter gradient accumulates its sums over
 * tiles block after block in the same order as one pass would, so both give bitwise the results of the
 * unblocked computation.
 */
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { releaseAll } from './call-wasm-kernel.ts';
import { heapKernels, offsetOf, pointerTable, type HeapKernels } from './heap-kernels.ts';

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

/** The transforms of one Winograd algorithm and the row counts of its 36 matrices. */
export interface WinogradVariant {
  /** Rows of matrix k for `tiles` tiles. */
  rows(tiles: number, k: number): number;
  filter(k: HeapKernels): HeapKernels['filter_transform'];
  input(k: HeapKernels): HeapKernels['input_transform'];
  output(k: HeapKernels): HeapKernels['output_transform'];
  dy(k: HeapKernels): HeapKernels['dy_transform'];
  filterGrad(k: HeapKernels): HeapKernels['filter_grad_transform'];
}

/** F(4x4, 3x3) for 3x3 stride-1 layers: one row per tile in each of the 36 matrices. */
export const STRIDE_1: WinogradVariant = {
  rows: (tiles) => tiles,
  filter: (k) => k.filter_transform,
  input: (k) => k.input_transform,
  output: (k) => k.output_transform,
  dy: (k) => k.dy_transform,
  filterGrad: (k) => k.filter_grad_transform,
};

/** Polyphase for 3x3 stride-2 layers (wat/winograd-s2.ts): 1, 4 or 16 rows per tile (EE, EO/OE, OO). */
export const STRIDE_2: WinogradVariant = {
  rows: (tiles, k) => tiles * (k < 25 ? 1 : k < 35 ? 4 : 16),
  filter: (k) => k.s2_filter_transform,
  input: (k) => k.s2_input_transform,
  output: (k) => k.s2_output_transform,
  dy: (k) => k.s2_dy_transform,
  filterGrad: (k) => k.s2_filter_grad_transform,
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

/** Run `body` over the image blocks: (first image, images in the block, tiles in the block). */
function eachBlock(
  g: TileGeometry,
  images: number,
  body: (first: number, count: number, tiles: number) => void,
) {
  const perImage = g.tilesH * g.tilesW;
  for (let first = 0; first < g.n; first += images) {
    const count = Math.min(images, g.n - first);
    body(first, count, count * perImage);
  }
}

/**
 * y = conv2d(x, filter) by `variant` on our products: the 36 filter matrices once, then per block the
 * input transform, 36 products M_k = V_k U_k and the output transform into the block's images of y.
 * Needs block tile counts in fours and co % 8 (the caller checks ownGemmApplies on the whole batch).
 */
export function ownWinogradForward(
  backend: KernelBackend,
  variant: WinogradVariant,
  x: TensorInfo,
  filter: TensorInfo,
  g: TileGeometry,
  images: number,
): TensorInfo {
  const wasm = backend as unknown as BackendWasm;
  const k = heapKernels(wasm);
  const s = new Scratch(wasm);
  try {
    const blockTiles = images * g.tilesH * g.tilesW;
    const u = s.matrices(() => g.ci, g.co);
    const v = s.matrices((p) => variant.rows(blockTiles, p), g.ci);
    const m = s.matrices((p) => variant.rows(blockTiles, p), g.co);
    const y = wasm.makeOutput([g.n, g.outHeight, g.outWidth, g.co], 'float32');
    const [xAt, yAt] = [offsetOf(wasm, x), offsetOf(wasm, y)];
    const [xImage, yImage] = [g.h * g.w * g.ci * 4, g.outHeight * g.outWidth * g.co * 4];
    variant.filter(k)(offsetOf(wasm, filter), u.table, g.ci, g.co);
    eachBlock(g, images, (first, count, tiles) => {
      variant.input(k)(
        xAt + first * xImage,
        v.table,
        count,
        g.h,
        g.w,
        g.ci,
        g.tilesH,
        g.tilesW,
        g.top,
        g.left,
      );
      for (let p = 0; p < 36; p++) k.matmul(v.at[p], u.at[p], m.at[p], g.ci, variant.rows(tiles, p), g.co, 0);
      variant.output(k)(
        m.table,
        yAt + first * yImage,
        count,
        g.outHeight,
        g.outWidth,
        g.co,
        g.tilesH,
        g.tilesW,
      );
    });
    return y;
  } finally {
    releaseAll(backend, s.temps);
  }
}

/**
 * The filter gradient by `variant` on our products: per block the input and dy transforms and
 * Z_k += V_k^T E_k (outer_sums, accumulating after the first block), then the filter-gradient transform.
 * Needs ci % 4 and co % 8.
 */
export function ownWinogradFilterGrad(
  backend: KernelBackend,
  variant: WinogradVariant,
  x: TensorInfo,
  dy: TensorInfo,
  g: TileGeometry,
  images: number,
): TensorInfo {
  const wasm = backend as unknown as BackendWasm;
  const k = heapKernels(wasm);
  const s = new Scratch(wasm);
  try {
    const blockTiles = images * g.tilesH * g.tilesW;
    const v = s.matrices((p) => variant.rows(blockTiles, p), g.ci);
    const e = s.matrices((p) => variant.rows(blockTiles, p), g.co);
    const z = s.matrices(() => g.ci, g.co);
    const [xAt, dyAt] = [offsetOf(wasm, x), offsetOf(wasm, dy)];
    const [xImage, dyImage] = [g.h * g.w * g.ci * 4, g.outHeight * g.outWidth * g.co * 4];
    eachBlock(g, images, (first, count, tiles) => {
      variant.input(k)(
        xAt + first * xImage,
        v.table,
        count,
        g.h,
        g.w,
        g.ci,
        g.tilesH,
        g.tilesW,
        g.top,
        g.left,
      );
      variant.dy(k)(
        dyAt + first * dyImage,
        e.table,
        count,
        g.outHeight,
        g.outWidth,
        g.co,
        g.tilesH,
        g.tilesW,
      );
      const accumulate = first > 0 ? 1 : 0;
      for (let p = 0; p < 36; p++)
        k.outer_sums(v.at[p], e.at[p], z.at[p], variant.rows(tiles, p), g.ci, g.co, accumulate);
    });
    const dw = wasm.makeOutput([3, 3, g.ci, g.co], 'float32');
    variant.filterGrad(k)(z.table, offsetOf(wasm, dw), g.ci, g.co);
    return dw;
  } finally {
    releaseAll(backend, s.temps);
  }
}
