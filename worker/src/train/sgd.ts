/**
 * SGD with momentum and weight decay, PyTorch semantics (torch.optim.SGD, dampening 0, no Nesterov):
 *   g <- g + wd * w;  buf <- momentum * buf + g  (buf = g on the first step);  w <- w - lr * buf.
 * The momentum buffers are part of the checkpoint so a resumed run continues bit for bit. After the first
 * step each parameter's update is one fused pass where the backend has it (fused-update.ts).
 */
import * as tf from '../tf.ts';
import type { ParamEntry } from '../model/params.ts';
import { sgdMomentumStep } from './fused-update.ts';

export class Sgd {
  private readonly buffers = new Map<string, tf.Variable>();
  private steps = 0;

  constructor(
    private readonly momentum: number,
    private readonly weightDecay: number,
  ) {}

  /** Applies one step; `grads` maps parameter name to its (already all-reduced) gradient. */
  apply(params: ParamEntry[], grads: Map<string, tf.Tensor>, lr: number): void {
    tf.tidy(() => {
      for (const p of params) {
        const g0 = grads.get(p.name);
        if (!g0) throw new Error(`no gradient for ${p.name}`);
        const wd = p.decay ? this.weightDecay : 0;
        const buf = this.buffers.get(p.name);
        if (this.momentum > 0 && buf) {
          const [w, b] = sgdMomentumStep(p.variable, g0, buf, lr, this.momentum, wd);
          buf.assign(b);
          p.variable.assign(w);
          continue;
        }
        const g = wd > 0 ? tf.add(g0, tf.mul(p.variable, wd)) : g0;
        if (this.momentum > 0) {
          const first = tf.keep(tf.variable(g, false));
          this.buffers.set(p.name, first);
          p.variable.assign(tf.sub(p.variable, tf.mul(first, lr)));
        } else {
          p.variable.assign(tf.sub(p.variable, tf.mul(g, lr)));
        }
      }
    });
    this.steps++;
  }

  /** Momentum buffers for checkpoints, in parameter order. */
  async readState(): Promise<{
    steps: number;
    buffers: Map<string, { shape: number[]; data: Float32Array }>;
  }> {
    const buffers = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, v] of this.buffers)
      buffers.set(name, { shape: v.shape, data: (await v.data()) as Float32Array });
    return { steps: this.steps, buffers };
  }

  writeState(state: { steps: number; buffers: Map<string, { shape: number[]; data: Float32Array }> }): void {
    this.dispose();
    for (const [name, b] of state.buffers)
      this.buffers.set(name, tf.variable(tf.tensor(b.data, b.shape, 'float32'), false));
    this.steps = state.steps;
  }

  dispose(): void {
    for (const v of this.buffers.values()) v.dispose();
    this.buffers.clear();
  }
}
