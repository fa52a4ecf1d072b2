/**
 * Strided convolutions and their gradients on the wasm backend as single matrix products (issue 3). With
 * P = im2col(x): [N*Ho*Wo, kh*kw*Ci] (wat/im2col.ts) and the filter read as W: [kh*kw*Ci, Co]:
 *
 *   y  = P W                      (our matmul)
 *   dw = P^T dy                   (our outer_sums; its [kh*kw*Ci, Co] is the filter layout)
 *   dx = col2im(dy W^T)           (our matmul, then the patch rows summed back)
 *
 * The strided 3x3 layers of resnet18-cifar were the largest cost left on XNNPACK's direct paths: a quarter of
 * a worker's step, with the filter gradient (one dilated convolution with batch and channels swapped) and
 * the polyphase input gradient at about 10 GMAC/s (docs/BENCHMARKS.md). The products are our 4 x 8-block
 * kernels (wat/gemm.ts); the sums run in the same order as a direct convolution's, so results agree with
 * tfjs-backend-cpu to float32 rounding.
 */
import { backend_util, type KernelBackend, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { releaseAll, reshapeInfo, transposeInfo } from './call-wasm-kernel.ts';
import { splitRange, type HeapKernelPool, type KernelCall } from './heap-kernel-pool.ts';
import { heapKernelPool, offsetOf } from './heap-kernels.ts';

/** Which pass: the kernels' shape needs differ (rows in fours, columns in eights of each product). */
export type Im2colPass = 'forward' | 'filterGrad' | 'inputGrad';

/**
 * True when the pass can run as a patch-matrix product: NHWC float32, dilation 1, equal strides, input
 * channels a multiple of 4 (the patch kernels move 4 per vector), and the product's rows in fours and
 * columns in eights: forward [N*Ho*Wo, Co], filter gradient [kh*kw*Ci, Co], input gradient [N*Ho*Wo, kh*kw*Ci].
 */
export function im2colApplies(info: backend_util.Conv2DInfo, dtype: string, pass: Im2colPass): boolean {
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const patch = info.filterHeight * info.filterWidth * info.inChannels;
  const shapeOk =
    pass === 'forward'
      ? rows % 4 === 0 && info.outChannels % 8 === 0
      : pass === 'filterGrad'
        ? patch % 4 === 0 && info.outChannels % 8 === 0
        : rows % 4 === 0 && patch % 8 === 0;
  return (
    dtype === 'float32' &&
    info.dataFormat === 'channelsLast' &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.strideHeight === info.strideWidth &&
    info.inChannels % 4 === 0 &&
    shapeOk
  );
}

/** The patch kernels' (n, h, w, c, outH, outW, kh, kw, stride, padTop, padLeft) for `n` images. */
function patchArgs(info: backend_util.Conv2DInfo, n = info.batchSize) {
  return [
    n,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.padInfo.top,
    info.padInfo.left,
  ] as const;
}

/**
 * Image ranges for the pool's threads, each with a row count in fours (our products' rows); one range
 * (the calling thread) when the images cannot be split so.
 */
function imageParts(info: backend_util.Conv2DInfo, threads: number): Array<[first: number, count: number]> {
  const perImage = info.outHeight * info.outWidth;
  const parts = splitRange(info.batchSize, threads);
  return parts.every(([, n]) => (n * perImage) % 4 === 0) ? parts : [[0, info.batchSize]];
}

/** Sizes of the pass: patch rows, patch length, bytes of an input image and of an output image. */
function sizes(info: backend_util.Conv2DInfo) {
  const perImage = info.outHeight * info.outWidth;
  const patch = info.filterHeight * info.filterWidth * info.inChannels;
  return {
    perImage,
    patch,
    rows: info.batchSize * perImage,
    inImage: 4 * info.inHeight * info.inWidth * info.inChannels,
  };
}

/** What a pass gets from {@link withPatchScratch}. */
interface PatchPass extends ReturnType<typeof sizes> {
  wasm: BackendWasm;
  pool: HeapKernelPool;
  /** Heap offset of a tensor. */
  at: (t: TensorInfo) => number;
  /** Heap offset of the [rows, patch] scratch matrix. */
  scratch: number;
  /** Image ranges for the pool's threads. */
  parts: Array<[first: number, count: number]>;
}

/** Run `pass` with a [rows, patch] scratch matrix, released afterwards with `temps` (on errors too). */
function withPatchScratch(
  backend: KernelBackend,
  info: backend_util.Conv2DInfo,
  pass: (s: PatchPass, temps: TensorInfo[]) => TensorInfo,
): TensorInfo {
  const wasm = backend as unknown as BackendWasm;
  const pool = heapKernelPool(wasm);
  const size = sizes(info);
  const temps: TensorInfo[] = [wasm.makeOutput([size.rows, size.patch], 'float32')];
  try {
    const at = (t: TensorInfo) => offsetOf(wasm, t);
    return pass(
      { ...size, wasm, pool, at, scratch: at(temps[0]), parts: imageParts(info, pool.threads) },
      temps,
    );
  } finally {
    releaseAll(backend, temps);
  }
}

/** The im2col of images [first, first + n) of x (heap offset xAt) into their rows of the scratch matrix. */
const im2colCall = (
  info: backend_util.Conv2DInfo,
  s: PatchPass,
  xAt: number,
  first: number,
  n: number,
): KernelCall => [
  'im2col',
  xAt + first * s.inImage,
  s.scratch + 4 * first * s.perImage * s.patch,
  ...patchArgs(info, n),
];

/**
 * y = conv2d(x, filter) as im2col(x) W. x: [N, H, W, Ci], filter: [kh, kw, Ci, Co] -> [N, Ho, Wo, Co]; the
 * images split over the pool's threads (patches and products per range of images).
 */
export function im2colConv2d(
  backend: KernelBackend,
  x: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const co = info.outChannels;
  return withPatchScratch(backend, info, (s) => {
    const y = s.wasm.makeOutput([info.batchSize, info.outHeight, info.outWidth, co], 'float32');
    const [xAt, wAt, yAt] = [x, filter, y].map(s.at);
    s.pool.run(
      s.parts.map(([first, n]): KernelCall[] => {
        const r0 = first * s.perImage;
        return [
          im2colCall(info, s, xAt, first, n),
          ['matmul', s.scratch + 4 * r0 * s.patch, wAt, yAt + 4 * r0 * co, s.patch, n * s.perImage, co, 0],
        ];
      }),
    );
    return y;
  });
}

/** dw = im2col(x)^T dy (one thread: the sum runs over every patch row). x: [N, H, W, Ci], dy -> [kh, kw, Ci, Co]. */
export function im2colFilterGrad(
  backend: KernelBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  return withPatchScratch(backend, info, (s) => {
    const dw = s.wasm.makeOutput(
      [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels],
      'float32',
    );
    s.pool.run(s.parts.map(([first, n]): KernelCall[] => [im2colCall(info, s, s.at(x), first, n)]));
    s.pool.call(['outer_sums', s.scratch, s.at(dy), s.at(dw), s.rows, s.patch, info.outChannels, 0]);
    return dw;
  });
}

/**
 * dx = col2im(dy W^T). dy: [N, Ho, Wo, Co], filter: [kh, kw, Ci, Co] -> dx: [N, H, W, Ci]; the images split
 * over the pool's threads (products and col2im per range of images). The scratch holds dy W^T.
 */
export function im2colInputGrad(
  backend: KernelBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const co = info.outChannels;
  return withPatchScratch(backend, info, (s, temps) => {
    const w2 = reshapeInfo(backend, filter, [s.patch, co]);
    temps.push(w2);
    const wT = transposeInfo(backend, w2, [1, 0]); // [Co, kh*kw*Ci]
    temps.push(wT);
    const dx = s.wasm.makeOutput([info.batchSize, info.inHeight, info.inWidth, info.inChannels], 'float32');
    const [dyAt, wAt, dxAt] = [dy, wT, dx].map(s.at);
    s.pool.run(
      s.parts.map(([first, n]): KernelCall[] => {
        const r0 = first * s.perImage;
        return [
          ['matmul', dyAt + 4 * r0 * co, wAt, s.scratch + 4 * r0 * s.patch, co, n * s.perImage, s.patch, 0],
          ['col2im', s.scratch + 4 * r0 * s.patch, dxAt + first * s.inImage, ...patchArgs(info, n)],
        ];
      }),
    );
    return dx;
  });
}
