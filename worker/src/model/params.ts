/**
 * Named parameters of an encoder: trainable weights and BN running statistics, in a deterministic
 * order (insertion order) that every rank and every checkpoint shares.
 */
import * as tf from '../tf.ts';
import { Rng } from '../util/rng.ts';

export interface ParamEntry {
  name: string;
  variable: tf.Variable;
  /** false for BN running statistics: they move by their own update rule, not by SGD. */
  trainable: boolean;
  /** Subject to weight decay (conv and fc kernels, also BN and biases as in MoCo's SGD). */
  decay: boolean;
}

export class ParamStore {
  readonly entries: ParamEntry[] = [];
  private readonly byName = new Map<string, ParamEntry>();

  add(
    name: string,
    values: Float32Array,
    shape: number[],
    opts: { trainable?: boolean; decay?: boolean } = {},
  ): tf.Variable {
    if (this.byName.has(name)) throw new Error(`duplicate parameter name ${name}`);
    const trainable = opts.trainable ?? true;
    const variable = tf.variable(tf.tensor(values, shape, 'float32'), trainable, `${name}_${uniqueSuffix()}`);
    const entry = { name, variable, trainable, decay: opts.decay ?? trainable };
    this.entries.push(entry);
    this.byName.set(name, entry);
    return variable;
  }

  get(name: string): tf.Variable {
    const e = this.byName.get(name);
    if (!e) throw new Error(`unknown parameter ${name}`);
    return e.variable;
  }

  trainable(): ParamEntry[] {
    return this.entries.filter((e) => e.trainable);
  }

  /** Snapshot of every parameter as host arrays (for checkpoints, broadcast, export). */
  async read(): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const e of this.entries)
      out.set(e.name, { shape: e.variable.shape, data: (await e.variable.data()) as Float32Array });
    return out;
  }

  /** Overwrite every parameter; shapes and the set of names must match exactly. */
  write(values: Map<string, { shape: number[]; data: Float32Array }>): void {
    const missing = this.entries.filter((e) => !values.has(e.name)).map((e) => e.name);
    if (missing.length > 0)
      throw new Error(
        `parameters missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`,
      );
    for (const e of this.entries) {
      const v = values.get(e.name)!;
      if (v.shape.join('x') !== e.variable.shape.join('x')) {
        throw new Error(`parameter ${e.name}: expected shape [${e.variable.shape}], got [${v.shape}]`);
      }
      tf.tidy(() => e.variable.assign(tf.tensor(v.data, v.shape, 'float32')));
    }
  }

  dispose(): void {
    for (const e of this.entries) e.variable.dispose();
  }
}

let counter = 0;
function uniqueSuffix(): number {
  return counter++;
}

/** He/Kaiming normal, fan_out, for ReLU nets (torchvision ResNet's conv init). */
export function kaimingNormal(rng: Rng, shape: number[], fanOut: number): Float32Array {
  const std = Math.sqrt(2 / fanOut);
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) out[i] = rng.normal() * std;
  return out;
}

/** PyTorch nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias. */
export function uniformFanIn(rng: Rng, size: number, fanIn: number): Float32Array {
  const bound = 1 / Math.sqrt(fanIn);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.uniform(-bound, bound);
  return out;
}

export function filled(size: number, value: number): Float32Array {
  return new Float32Array(size).fill(value);
}
