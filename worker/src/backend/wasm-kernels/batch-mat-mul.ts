/**
 * BatchMatMul for the wasm backend when an operand is transposed (issue 3). tfjs-backend-wasm hands XNNPACK
 * the untransposed case and runs the others at ~1-2 GMAC/s: in a resnet18-cifar JCL step the weight
 * gradients of the projection head (x^T dy) and the query's gradient through the negative logits
 * (dlogits queue^T) took ~20 ms for ~27 M multiply-adds. Here z = a^T b runs as our outer_sums (on one
 * thread: it sums over every row), and z = a b^T as b transposed (XNNPACK's Transpose) then our matmul,
 * its output rows split over the kernel pool's threads. Other cases go to the stock kernel.
 */
import type { BatchMatMulAttrs, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { releaseAll, transposeInfo } from './call-wasm-kernel.ts';
import { splitRange, type KernelCall } from './heap-kernel-pool.ts';
import { heapKernelPool, offsetOf } from './heap-kernels.ts';

type Args = { inputs: { a: TensorInfo; b: TensorInfo }; backend: BackendWasm; attrs: BatchMatMulAttrs };

/** The [rows, cols] of a rank-2 operand, or of a rank-3 one with a batch of 1; null otherwise. */
function matrix(t: TensorInfo): [number, number] | null {
  if (t.dtype !== 'float32') return null;
  if (t.shape.length === 2) return [t.shape[0], t.shape[1]];
  if (t.shape.length === 3 && t.shape[0] === 1) return [t.shape[1], t.shape[2]];
  return null;
}

/** Build the kernel around the stock one. */
export function makeBatchMatMulWasm(stock: KernelFunc): KernelFunc {
  return (raw) => {
    const args = raw as unknown as Args;
    const { a, b } = args.inputs;
    const { transposeA, transposeB } = args.attrs;
    const [ma, mb] = [matrix(a), matrix(b)];
    if (ma === null || mb === null || transposeA === transposeB) return stock(raw);
    // z: [m, n] over the shared dimension t.
    const [t, m] = transposeA ? ma : [ma[1], ma[0]];
    const n = transposeB ? mb[0] : mb[1];
    if (m % 4 !== 0 || n % 8 !== 0) return stock(raw);
    const wasm = args.backend;
    const pool = heapKernelPool(wasm);
    const batched = a.shape.length === 3 || b.shape.length === 3;
    const z = wasm.makeOutput(batched ? [1, m, n] : [m, n], 'float32');
    const at = (x: TensorInfo) => offsetOf(wasm, x);
    if (transposeA) {
      // z = a^T b: outer_sums sums over all t rows, so it stays on one thread.
      pool.call(['outer_sums', at(a), at(b), at(z), t, m, n, 0]);
      return z;
    }
    const bT = transposeInfo(wasm, { ...b, shape: [n, t] }, [1, 0]); // [t, n]
    try {
      pool.run(
        splitRange(m, pool.threads, 4).map(([r0, rows]): KernelCall[] => [
          ['matmul', at(a) + 4 * r0 * t, at(bT), at(z) + 4 * r0 * n, t, rows, n, 0],
        ]),
      );
    } finally {
      releaseAll(wasm, [bT]);
    }
    return z;
  };
}
