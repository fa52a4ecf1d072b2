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
import { splitRange, type KernelCall } from './heap-kernel-pool.ts';
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
  const wasm = backend as unknown as BackendWasm;
  const pool = heapKernelPool(wasm);
  const { perImage, patch, rows, inImage } = sizes(info);
  const co = info.outChannels;
  const p = wasm.makeOutput([rows, patch], 'float32');
  try {
    const y = wasm.makeOutput([info.batchSize, info.outHeight, info.outWidth, co], 'float32');
    const [xAt, pAt, wAt, yAt] = [x, p, filter, y].map((t) => offsetOf(wasm, t));
    pool.run(
      imageParts(info, pool.threads).map(([first, n]): KernelCall[] => {
        const r0 = first * perImage;
        return [
          ['im2col', xAt + first * inImage, pAt + 4 * r0 * patch, ...patchArgs(info, n)],
          ['matmul', pAt + 4 * r0 * patch, wAt, yAt + 4 * r0 * co, patch, n * perImage, co, 0],
        ];
      }),
    );
    return y;
  } finally {
    releaseAll(backend, [p]);
  }
}

/** dw = im2col(x)^T dy (one thread: the sum runs over every patch row). x: [N, H, W, Ci], dy -> [kh, kw, Ci, Co]. */
export function im2colFilterGrad(
  backend: KernelBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const wasm = backend as unknown as BackendWasm;
  const pool = heapKernelPool(wasm);
  const { perImage, patch, rows, inImage } = sizes(info);
  const p = wasm.makeOutput([rows, patch], 'float32');
  try {
    const dw = wasm.makeOutput(
      [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels],
      'float32',
    );
    const [xAt, pAt, dyAt, dwAt] = [x, p, dy, dw].map((t) => offsetOf(wasm, t));
    pool.run(
      imageParts(info, pool.threads).map(([first, n]): KernelCall[] => [
        ['im2col', xAt + first * inImage, pAt + 4 * first * perImage * patch, ...patchArgs(info, n)],
      ]),
    );
    pool.call(['outer_sums', pAt, dyAt, dwAt, rows, patch, info.outChannels, 0]);
    return dw;
  } finally {
    releaseAll(backend, [p]);
  }
}

/**
 * dx = col2im(dy W^T). dy: [N, Ho, Wo, Co], filter: [kh, kw, Ci, Co] -> dx: [N, H, W, Ci]; the images split
 * over the pool's threads (products and col2im per range of images).
 */
export function im2colInputGrad(
  backend: KernelBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const wasm = backend as unknown as BackendWasm;
  const pool = heapKernelPool(wasm);
  const { perImage, patch, rows, inImage } = sizes(info);
  const co = info.outChannels;
  const temps: TensorInfo[] = [];
  try {
    const w2 = reshapeInfo(backend, filter, [patch, co]);
    temps.push(w2);
    const wT = transposeInfo(backend, w2, [1, 0]); // [Co, kh*kw*Ci]
    temps.push(wT);
    const cols = wasm.makeOutput([rows, patch], 'float32');
    temps.push(cols);
    const dx = wasm.makeOutput([info.batchSize, info.inHeight, info.inWidth, info.inChannels], 'float32');
    const [dyAt, wAt, cAt, dxAt] = [dy, wT, cols, dx].map((t) => offsetOf(wasm, t));
    pool.run(
      imageParts(info, pool.threads).map(([first, n]): KernelCall[] => {
        const r0 = first * perImage;
        return [
          ['matmul', dyAt + 4 * r0 * co, wAt, cAt + 4 * r0 * patch, co, n * perImage, patch, 0],
          ['col2im', cAt + 4 * r0 * patch, dxAt + first * inImage, ...patchArgs(info, n)],
        ];
      }),
    );
    return dx;
  } finally {
    releaseAll(backend, temps);
  }
}
