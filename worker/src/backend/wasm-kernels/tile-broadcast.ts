/**
 * Tile for the wasm backend when it is a pure broadcast (every repeated axis has size 1), as in the
 * batch-norm gradient of tfjs-core, which tiles a [1, 1, 1, C] vector to [N, H, W, C]. The stock
 * wasm Tile walks every output element with index arithmetic (~95 ms per resnet18-cifar BN layer);
 * a broadcasting Add onto zeros runs at memory speed.
 */
import { util, type KernelBackend, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { callWasmKernel, releaseAll } from './call-wasm-kernel.ts';

type TileArgs = { inputs: { x: TensorInfo }; backend: KernelBackend; attrs: { reps: number[] } };

/** True when tiling `shape` by `reps` only repeats size-1 axes, i.e. equals broadcasting. */
export function isBroadcastTile(shape: readonly number[], reps: readonly number[]): boolean {
  return shape.length === reps.length && shape.every((d, i) => reps[i] === 1 || d === 1);
}

/** Build the kernel; `fallback` (the stock Tile) handles real repetition and non-float dtypes. */
export function makeTileWasm(fallback: KernelFunc): (args: TileArgs) => TensorInfo {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    if (x.dtype !== 'float32' || !isBroadcastTile(x.shape, attrs.reps) || x.shape.length > 6) {
      return fallback(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const outShape = x.shape.map((d, i) => d * attrs.reps[i]);
    if (util.sizeFromShape(outShape) === util.sizeFromShape(x.shape)) {
      return callWasmKernel('Reshape', backend, { x }, { shape: outShape });
    }
    const zeros = callWasmKernel('Fill', backend, {}, { shape: outShape, value: 0, dtype: 'float32' });
    try {
      return callWasmKernel('Add', backend, { a: zeros, b: x }); // out: outShape
    } finally {
      releaseAll(backend, [zeros]);
    }
  };
}
