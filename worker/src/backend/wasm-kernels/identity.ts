/**
 * Identity for the wasm backend without a copy. The engine runs Identity to clone every tensor it saves for
 * a backward pass (engine.clone), and tfjs-backend-wasm's kernel copies the data: ~200 copies per
 * resnet18-cifar JCL step (the activations its batch norms save, the filters its convolutions save),
 * ~17 ms. Tensors are immutable, so the clone can share the data with a reference count, as the cpu
 * backend's Identity and the wasm Reshape do.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** y = x, sharing x's data (its reference count raised); string tensors go to the stock kernel. */
export function makeIdentityWasm(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === 'string') return stock(args);
    (args.backend as unknown as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}
