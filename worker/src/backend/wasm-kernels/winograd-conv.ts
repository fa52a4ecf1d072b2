/**
 * Winograd F(4x4, 3x3) convolution on the wasm backend (issue 3). XNNPACK runs a direct 3x3 convolution
 * at its SIMD128 rate; Winograd computes each 4x4 output tile from a 6x6 input window with 36
 * element-wise products instead of 144 multiply-adds, i.e. per channel pair 4x fewer multiplications:
 *
 *   y = A^T [ (G g G^T) (.) (B^T d B) ] A      summed over input channels
 *
 * Over channels the element-wise products become 36 independent matrix products
 * M_k [tiles, Co] = V_k [tiles, Ci] x U_k [Ci, Co], run by our own SIMD kernels (wat/gemm.ts) or by
 * XNNPACK (2D BatchMatMul). The transforms (U from the filter, V from the input windows, y from M) are our
 * own SIMD WebAssembly (heap-kernels-wat.ts), reading and writing the tfjs heap directly. Float32 rounding differs from the
 * direct convolution (the transforms scale by up to 8 and 1/24); tested against tfjs-backend-cpu.
 */
import {
  backend_util,
  type Conv2DAttrs,
  type KernelBackend,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { matMulInfo, releaseAll } from './call-wasm-kernel.ts';
import { heapKernels, offsetOf, pointerTable, type HeapKernels } from './heap-kernels.ts';
import {
  imagesPerBlock,
  ownWinogradFilterGrad,
  ownWinogradForward,
  STRIDE_1,
  STRIDE_2,
  type TileGeometry,
  type WinogradVariant,
} from './winograd-own.ts';
import { im2colApplies, im2colConv2d, type Im2colPass } from './im2col-conv.ts';

/**
 * True when {@link winogradConv2d} handles the convolution: NHWC float32, a 3x3 filter, stride 1,
 * dilation 1 (any padding: windows reading outside the input see zeros), and channel counts that are
 * multiples of 4 (the transforms run 4 channels per SIMD vector) and at least `minChannels`.
 */
export function winogradApplies(info: backend_util.Conv2DInfo, dtype: string, minChannels: number): boolean {
  return (
    dtype === 'float32' &&
    info.dataFormat === 'channelsLast' &&
    info.filterHeight === 3 &&
    info.filterWidth === 3 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.inChannels % 4 === 0 &&
    info.outChannels % 4 === 0 &&
    info.inChannels >= minChannels &&
    info.outChannels >= minChannels
  );
}

function geometry(info: backend_util.Conv2DInfo): TileGeometry {
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: ci,
    outChannels: co,
    outHeight,
    outWidth,
  } = info;
  const tilesH = Math.ceil(outHeight / 4);
  const tilesW = Math.ceil(outWidth / 4);
  const { top, left } = info.padInfo;
  return { n, h, w, ci, co, outHeight, outWidth, tilesH, tilesW, tiles: n * tilesH * tilesW, top, left };
}

/**
 * The frame of the Winograd passes whose products XNNPACK runs (ours run in winograd-own.ts): allocate the
 * 36 left and right operands, `transform` fills them (given their pointer tables), each pair is multiplied
 * (lhs x rhs) and freed as soon as its product exists (so the heap holds one set of 36 matrices at a time),
 * and `finish` turns the products (their table) into the result. Every intermediate is released, on errors too.
 */
function xnnpackWinograd(
  backend: KernelBackend,
  shapes: (k: number) => { lhs: number[]; rhs: number[] },
  transform: (k: HeapKernels, lhsTable: number, rhsTable: number) => void,
  finish: (k: HeapKernels, productTable: number) => TensorInfo,
): TensorInfo {
  const wasm = backend as unknown as BackendWasm;
  const k = heapKernels(wasm);
  const temps = new Set<TensorInfo>();
  const keep = <T extends TensorInfo>(t: T): T => (temps.add(t), t);
  try {
    const lhs = Array.from({ length: 36 }, (_, i) => keep(wasm.makeOutput(shapes(i).lhs, 'float32')));
    const rhs = Array.from({ length: 36 }, (_, i) => keep(wasm.makeOutput(shapes(i).rhs, 'float32')));
    transform(
      k,
      offsetOf(wasm, keep(pointerTable(wasm, lhs))),
      offsetOf(wasm, keep(pointerTable(wasm, rhs))),
    );
    const products = lhs.map((a, p) => {
      const product = keep(matMulInfo(backend, a, rhs[p]));
      releaseAll(backend, [a, rhs[p]]);
      temps.delete(a);
      temps.delete(rhs[p]);
      return product;
    });
    return finish(k, offsetOf(wasm, keep(pointerTable(wasm, products))));
  } finally {
    releaseAll(backend, [...temps]);
  }
}

/**
 * Our matrix products (heap-kernels `matmul`, `outer_sums`: 4 x 8 register blocks, no packing) need the
 * output's rows in fours and columns in eights. Single-threaded they run the Winograd shapes at 17-26
 * GMAC/s against XNNPACK's 6-21 (which packs a weight operand on every call); with two XNNPACK threads
 * XNNPACK wins the large forward products (31-36 against 24-26 GMAC/s), ours the small ones
 * (`npx tsx bench/kernels/bench-winograd-gemm.ts`, docs/BENCHMARKS.md).
 */
export function ownGemmApplies(rows: number, cols: number): boolean {
  return policy.ownGemm && rows % 4 === 0 && cols % 8 === 0;
}

/** The heap offset of `t` (for the kernels' pointer arguments). */
const at = (backend: KernelBackend, t: TensorInfo) => offsetOf(backend as unknown as BackendWasm, t);

/**
 * Our forward products apply: rows in fours, co in eights. They run on as many threads as XNNPACK has
 * (heap-kernel-pool.ts), in blocks of images; single-threaded they beat XNNPACK's at every Winograd shape
 * (bench-winograd-gemm.ts).
 */
function ownForward(g: TileGeometry): boolean {
  return ownGemmApplies(g.tiles, g.co);
}

/** The forward pass of `variant` with XNNPACK's products (the whole batch at once). */
function xnnpackForward(
  backend: KernelBackend,
  variant: WinogradVariant,
  x: TensorInfo,
  filter: TensorInfo,
  g: TileGeometry,
): TensorInfo {
  return xnnpackWinograd(
    backend,
    (k) => ({ lhs: [variant.rows(g.tiles, k), g.ci], rhs: [g.ci, g.co] }),
    (k, vTable, uTable) => {
      k[variant.filter](at(backend, filter), uTable, g.ci, g.co);
      k[variant.input](at(backend, x), vTable, g.n, g.h, g.w, g.ci, g.tilesH, g.tilesW, g.top, g.left);
    },
    (k, mTable) => {
      const y = (backend as unknown as BackendWasm).makeOutput(
        [g.n, g.outHeight, g.outWidth, g.co],
        'float32',
      );
      k[variant.output](mTable, at(backend, y), g.n, g.outHeight, g.outWidth, g.co, g.tilesH, g.tilesW);
      return y;
    },
  );
}

/** y = conv2d(x, filter) by `variant`: our products in blocks of images (winograd-own.ts) or XNNPACK's. */
function winogradForward(
  variant: WinogradVariant,
  backend: KernelBackend,
  x: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const g = geometry(info);
  return ownForward(g)
    ? ownWinogradForward(backend, variant, x, filter, g, imagesPerBlock(g, policy.blockTiles))
    : xnnpackForward(backend, variant, x, filter, g);
}

/**
 * y = conv2d(x, filter) by Winograd F(4x4, 3x3); the caller checks {@link winogradApplies}.
 * x: [N, H, W, Ci], filter: [3, 3, Ci, Co] -> y: [N, outH, outW, Co]. Padding below and right of the
 * input is implied by the output size (windows reading past the input see zeros).
 * M_k [tiles, Co] = V_k [tiles, Ci] x U_k [Ci, Co].
 */
export const winogradConv2d = (
  backend: KernelBackend,
  x: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo => winogradForward(STRIDE_1, backend, x, filter, info);

/**
 * The filter gradient of a convolution {@link winogradApplies} to, by the transposed algorithm:
 *
 *   dw = G^T [ sum over tiles of (B^T d B) (.) (A e A^T) ] G
 *
 * (d: a tile's 6x6 input window, e: its 4x4 block of dy, zero past the output), i.e. 36 products
 * Z_k [Ci, Co] = V_k^T [Ci, tiles] x E_k [tiles, Co] (our outer_sums on V_k as written, in blocks of
 * images, or XNNPACK on V_k written transposed).
 * x: [N, H, W, Ci], dy: [N, outH, outW, Co] -> dw: [3, 3, Ci, Co].
 */
export function winogradFilterGrad(
  backend: KernelBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const g = geometry(info);
  if (ownGemmApplies(g.ci, g.co)) {
    return ownWinogradFilterGrad(backend, STRIDE_1, x, dy, g, imagesPerBlock(g, policy.blockTiles));
  }
  return xnnpackWinograd(
    backend,
    () => ({ lhs: [g.ci, g.tiles], rhs: [g.tiles, g.co] }),
    (k, vTable, eTable) => {
      k.input_transform_t(at(backend, x), vTable, g.n, g.h, g.w, g.ci, g.tilesH, g.tilesW, g.top, g.left);
      k.dy_transform(at(backend, dy), eTable, g.n, g.outHeight, g.outWidth, g.co, g.tilesH, g.tilesW);
    },
    (k, zTable) => {
      const dw = (backend as unknown as BackendWasm).makeOutput([3, 3, g.ci, g.co], 'float32');
      k.filter_grad_transform(zTable, at(backend, dw), g.ci, g.co);
      return dw;
    },
  );
}

/**
 * True when {@link winogradS2Conv2d} handles the convolution: as {@link winogradApplies} but stride 2 on
 * both axes.
 */
export function winogradS2Applies(
  info: backend_util.Conv2DInfo,
  dtype: string,
  minChannels: number,
): boolean {
  return (
    winogradApplies({ ...info, strideHeight: 1, strideWidth: 1 }, dtype, minChannels) &&
    info.strideHeight === 2 &&
    info.strideWidth === 2
  );
}

/**
 * y = conv2d(x, filter) for a 3x3 stride-2 convolution by polyphase Winograd. Per axis the output o reads
 * padded input 2o + i: the even taps (i = 0, 2) meet the even samples and run F(4, 2), the odd tap meets the
 * odd samples. Each 4x4 output tile reads a 9x9 window and costs 25 + 20 + 20 + 16 = 81 multiplications per
 * channel pair against 144 direct (1.78x fewer); the 36 products are
 * M_k [rows_k, Co] = V_k [rows_k, Ci] x U_k [Ci, Co] (wat/winograd-s2.ts). x: [N, H, W, Ci], filter: [3, 3, Ci, Co].
 */
export const winogradS2Conv2d = (
  backend: KernelBackend,
  x: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo => winogradForward(STRIDE_2, backend, x, filter, info);

/**
 * The filter gradient of a convolution {@link winogradS2Applies} to, by the transposed algorithm on each
 * phase: Z_k [Ci, Co] = V_k^T E_k (our outer_sums; E from dy: A e A^T, A e, e A^T, e), then
 * dw = G^T Z_EE G, G^T Z_EO, Z_OE G, Z_OO on the matching taps. Needs our products (ci % 4, co % 8).
 */
export function winogradS2FilterGrad(
  backend: KernelBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const g = geometry(info);
  return ownWinogradFilterGrad(backend, STRIDE_2, x, dy, g, imagesPerBlock(g, policy.blockTiles));
}

type Conv2DArgs = {
  inputs: { x: TensorInfo; filter: TensorInfo };
  backend: KernelBackend;
  attrs: Conv2DAttrs;
};

/**
 * When Conv2D and Conv2DBackpropFilter take the Winograd path, beyond {@link winogradApplies}:
 * - minChannels: smallest channel count, in and out (below it the transforms' memory traffic outweighs
 *   the saved multiplications);
 * - minForwardTiles: smallest number of 4x4 output tiles for Conv2D. With few tiles XNNPACK's packing of
 *   the 36 transformed filters dominates: at 512 channels 4x4 with a fresh filter (as after every SGD
 *   step) Winograd with XNNPACK's products takes 24.5 vs 27.6 ms at 16 tiles and ties at 8 (measured
 *   before our own products; docs/BENCHMARKS.md); the filter
 *   gradient packs the small dy side and has no such limit.
 */
export interface WinogradPolicy {
  minChannels: number;
  minForwardTiles: number;
  /** Our matrix products where they apply (see ownGemmApplies); false: XNNPACK for all 36. */
  ownGemm: boolean;
  /**
   * Strided convolutions (and their gradients) as patch-matrix products with our kernels (im2col-conv.ts)
   * where they apply; false: XNNPACK's direct convolution and the gradients' convolution forms.
   */
  stridedIm2col: boolean;
  /** 3x3 stride-2 convolutions (forward, filter gradient) by polyphase Winograd where it applies. */
  stride2: boolean;
  /** Tiles per block of images on our products (winograd-own.ts); Infinity: the whole batch at once. */
  blockTiles: number;
}

/** The default policy, from the resnet18-cifar kernel measurements (docs/BENCHMARKS.md). */
export const WINOGRAD_DEFAULT: Readonly<WinogradPolicy> = {
  minChannels: 16,
  minForwardTiles: 16,
  ownGemm: true,
  stridedIm2col: true,
  stride2: true,
  blockTiles: 64,
};

/** Winograd never applies (JCL_WINOGRAD=off; benchmarks compare both). */
export const WINOGRAD_OFF: Readonly<WinogradPolicy> = {
  minChannels: Infinity,
  minForwardTiles: Infinity,
  ownGemm: false,
  stridedIm2col: false,
  stride2: false,
  blockTiles: Infinity,
};

let policy: WinogradPolicy = { ...WINOGRAD_DEFAULT };

/** Replace the policy (start-up, tests, benchmarks); returns the previous one. */
export function setWinogradPolicy(next: Readonly<WinogradPolicy>): WinogradPolicy {
  const previous = policy;
  policy = { ...next };
  return previous;
}

/** True when Conv2D takes the Winograd path under the current policy. */
export function useWinogradForward(info: backend_util.Conv2DInfo, dtype: string): boolean {
  return winogradApplies(info, dtype, policy.minChannels) && geometry(info).tiles >= policy.minForwardTiles;
}

/** True when Conv2DBackpropFilter takes the Winograd path under the current policy. */
export function useWinogradFilterGrad(info: backend_util.Conv2DInfo, dtype: string): boolean {
  return winogradApplies(info, dtype, policy.minChannels);
}

/** True when Conv2D of a 3x3 stride-2 layer takes the polyphase Winograd path. */
export function useWinogradS2Forward(info: backend_util.Conv2DInfo, dtype: string): boolean {
  return (
    policy.stride2 &&
    winogradS2Applies(info, dtype, policy.minChannels) &&
    geometry(info).tiles >= policy.minForwardTiles
  );
}

/** True when Conv2DBackpropFilter of a 3x3 stride-2 layer takes the polyphase Winograd path. */
export function useWinogradS2FilterGrad(info: backend_util.Conv2DInfo, dtype: string): boolean {
  return (
    policy.stride2 &&
    winogradS2Applies(info, dtype, policy.minChannels) &&
    ownGemmApplies(info.inChannels, info.outChannels)
  );
}

/** True when the pass of a strided convolution runs as a patch-matrix product (im2col-conv.ts). */
export function useStridedIm2col(info: backend_util.Conv2DInfo, dtype: string, pass: Im2colPass): boolean {
  return policy.stridedIm2col && info.strideHeight > 1 && im2colApplies(info, dtype, pass);
}

/**
 * Conv2D: Winograd where {@link useWinogradForward}, a patch-matrix product where {@link useStridedIm2col},
 * else `stock` (XNNPACK's direct convolution).
 */
export function makeConv2dWasm(stock: KernelFunc): (args: Conv2DArgs) => TensorInfo {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x, filter } = inputs;
    const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      strides,
      dilations,
      pad,
      dimRoundingMode,
      false,
      backend_util.convertConv2DDataFormat(dataFormat),
    );
    if (useWinogradForward(info, x.dtype)) return winogradConv2d(backend, x, filter, info);
    if (useWinogradS2Forward(info, x.dtype)) return winogradS2Conv2d(backend, x, filter, info);
    if (useStridedIm2col(info, x.dtype, 'forward')) return im2colConv2d(backend, x, filter, info);
    return stock(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  };
}
