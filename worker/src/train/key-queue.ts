/**
 * The queue of negatives: K unit-ish key means stored as columns, [d, K], with a pointer. JCL enqueues
 * the key MEANS mu of the whole global batch (shared/docs/JCL.md, step 6), replacing the oldest.
 */
import * as tf from '../tf.ts';
import { Rng } from '../util/rng.ts';
import { JclError } from '../util/errors.ts';

export class KeyQueue {
  private queue: tf.Tensor2D; // [d, K]
  private ptr = 0;

  constructor(
    readonly dim: number,
    readonly size: number,
    seed: number,
  ) {
    // MoCo: randn(dim, K) normalised along dim 0.
    const rng = new Rng(seed);
    const data = new Float32Array(dim * size);
    for (let i = 0; i < data.length; i++) data[i] = rng.normal();
    this.queue = tf.tidy(() => {
      const q = tf.tensor2d(data, [dim, size]);
      return tf.div(q, tf.maximum(tf.norm(q, 'euclidean', 0, true), 1e-12)) as tf.Tensor2D;
    });
  }

  get tensor(): tf.Tensor2D {
    return this.queue;
  }

  get pointer(): number {
    return this.ptr;
  }

  /** Replaces the oldest B columns with the global batch's key means `means`: [B, d]. */
  enqueue(means: tf.Tensor2D): void {
    const b = means.shape[0];
    if (this.size % b !== 0) {
      throw new JclError(
        'invalid_config',
        `jcl.queueSize: must be a multiple of the global batch size ${b}, got ${this.size}`,
      );
    }
    const next = tf.tidy(() => {
      const cols = tf.transpose(means); // [d, B]
      const parts: tf.Tensor2D[] = [];
      if (this.ptr > 0) parts.push(tf.slice(this.queue, [0, 0], [this.dim, this.ptr]));
      parts.push(cols as tf.Tensor2D);
      const rest = this.size - this.ptr - b;
      if (rest > 0) parts.push(tf.slice(this.queue, [0, this.ptr + b], [this.dim, rest]));
      return tf.concat(parts, 1) as tf.Tensor2D;
    });
    this.queue.dispose();
    this.queue = next;
    this.ptr = (this.ptr + b) % this.size;
  }

  async read(): Promise<{ data: Float32Array; pointer: number }> {
    return { data: (await this.queue.data()) as Float32Array, pointer: this.ptr };
  }

  write(data: Float32Array, pointer: number): void {
    if (data.length !== this.dim * this.size) {
      throw new JclError(
        'checkpoint_corrupt',
        `queue: expected ${this.dim}x${this.size} values, got ${data.length}`,
      );
    }
    this.queue.dispose();
    this.queue = tf.tensor2d(data, [this.dim, this.size]);
    this.ptr = pointer;
  }

  dispose(): void {
    this.queue.dispose();
  }
}
