/**
 * What the training loop needs from the other workers. The single-process implementation is below; the
 * gRPC ring implementation lives beside it (worker/src/distributed). All ranks call every method in the same
 * order with buffers of the same layout (SPMD), like torch.distributed.
 */
import type { GradientDtype } from './bf16.ts';

/** Per call of allReduceMean. */
export interface AllReduceOptions {
  /** Element type on the wire (bfloat16: half the bytes, float32 accumulation); default float32. */
  dtype?: GradientDtype;
}

export interface Collective {
  readonly rank: number;
  readonly worldSize: number;
  /** Sum-then-divide by worldSize, in place, over every buffer (one fused bucket layout on all ranks). */
  allReduceMean(buffers: Float32Array[], opts?: AllReduceOptions): Promise<void>;
  /** Concatenate every rank's equally sized buffer in rank order: [worldSize * local.length]. */
  allGather(local: Float32Array): Promise<Float32Array>;
  /** rank `root` sends `data`; every rank returns it (non-roots pass null). */
  broadcast(data: Uint8Array | null, root?: number): Promise<Uint8Array>;
  barrier(): Promise<void>;
  close(): Promise<void>;
}

/** worldSize = 1: every collective is the identity. */
export class LocalCollective implements Collective {
  readonly rank = 0;
  readonly worldSize = 1;
  async allReduceMean(): Promise<void> {}
  async allGather(local: Float32Array): Promise<Float32Array> {
    return local.slice();
  }
  async broadcast(data: Uint8Array | null): Promise<Uint8Array> {
    if (data === null) throw new Error('broadcast: the root must pass data, got null');
    return data;
  }
  async barrier(): Promise<void> {}
  async close(): Promise<void> {}
}
