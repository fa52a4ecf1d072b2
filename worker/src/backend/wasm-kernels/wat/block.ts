/**
 * Building blocks for generating WebAssembly text (the generators of ../heap-kernels-wat.ts): straight-line
 * SIMD code over named locals, and small helpers.
 */

/** Straight-line SIMD code over named v128 locals. */
export class Block {
  readonly code: string[] = [];
  private next = 0;
  constructor(
    private readonly prefix: string,
    readonly locals: string[],
  ) {}

  private emit(expr: string): string {
    const name = `$${this.prefix}${this.next++}`;
    this.locals.push(`(local ${name} v128)`);
    this.code.push(`(local.set ${name} ${expr})`);
    return name;
  }

  add(a: string, b: string): string {
    return this.emit(`(f32x4.add (local.get ${a}) (local.get ${b}))`);
  }
  sub(a: string, b: string): string {
    return this.emit(`(f32x4.sub (local.get ${a}) (local.get ${b}))`);
  }
  scale(a: string, c: number): string {
    const k = Math.fround(c).toString();
    return this.emit(`(f32x4.mul (local.get ${a}) (v128.const f32x4 ${k} ${k} ${k} ${k}))`);
  }
  neg(a: string): string {
    return this.emit(`(f32x4.neg (local.get ${a}))`);
  }
  set(expr: string): string {
    return this.emit(expr);
  }
}

/** D^T X D for an n x n grid of locals: `rows` maps a column of n values to k values. */
export function twoPass(b: Block, x: string[][], rows: (b: Block, v: string[]) => string[]): string[][] {
  const n = x[0].length;
  const cols = Array.from({ length: n }, (_, j) =>
    rows(
      b,
      x.map((r) => r[j]),
    ),
  ); // cols[j][k]
  const k = cols[0].length;
  return Array.from({ length: k }, (_, r) =>
    rows(
      b,
      cols.map((c) => c[r]),
    ),
  ); // out[r][l]
}

export const range = (n: number) => Array.from({ length: n }, (_, i) => i);
export const get = (name: string) => `(local.get ${name})`;

/** i32 locals `$<p>0 .. $<p>35` loaded from a table of 36 heap offsets. */
export function tableLocals(p: string, table: string, locals: string[], code: string[]): void {
  for (const k of range(36)) {
    locals.push(`(local $${p}${k} i32)`);
    code.push(`(local.set $${p}${k} (i32.load offset=${4 * k} (local.get ${table})))`);
  }
}
