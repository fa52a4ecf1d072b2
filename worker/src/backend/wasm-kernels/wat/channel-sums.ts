/**
 * WebAssembly text of the per-channel kernels over [rows, channels] arrays: float64 column sums (sums,
 * centred squares, batch norm's gradient sums) and row-by-row maps with a per-channel table (batch-norm
 * normalisation and input gradient).
 */
import { range } from './block.ts';

/** Lanes 2 and 3 of a f32x4 moved to lanes 0 and 1 (for f64x2.promote_low_f32x4). */
const HIGH_HALF = '8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15';
/** Lanes 0-1 of the first operand then lanes 0-1 of the second (two demoted f64x2 -> one f32x4). */
const LOW_HALVES = '0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23';

/**
 * A column-sum function over the first `cols` columns of [rows, rowFloats] float32 arrays (cols a multiple of
 * 4; params $rows, $cols, $out, $scale f64, the arrays, and last $rowFloats, the row length, so that a
 * caller can give each thread a range of columns): for each term, out[t * rowFloats + c] = float32(scale *
 * sum over rows of the
 * product of the term's factors), multiplied and summed in float64 in row order. A factor is an f32x4
 * expression of `load(ptr)` (the row's 4 values at this column block of the array at param `ptr`) and
 * `k(name)` (4 per-column constants loaded from the table at param `name` when a strip starts). Strips of
 * `widths[0]` columns, then `widths[1]`, keep the sums in registers while walking the rows, so each cache
 * line is read once.
 */
function columnSums(
  name: string,
  params: string,
  arrays: string[],
  tables: string[],
  terms: Array<Array<(load: (ptr: string) => string, k: (table: string) => string) => string>>,
  widths: [number, number],
): string {
  const locals = new Set<string>([
    '(local $c i32) (local $r i32) (local $stride i32) (local $end i32) (local $scale2 v128)',
  ]);
  for (const a of arrays) locals.add(`(local $p${a.slice(1)} i32)`);
  const strip = (width: number) => {
    const vecs = width / 4;
    const acc = (t: number, v: number, half: number) => `$acc${t}_${v}_${half}`;
    const konst = (table: string, v: number) => `$k${table.slice(1)}_${v}`;
    const body = range(vecs).flatMap((v) => {
      const load = (ptr: string) => `(v128.load offset=${16 * v} (local.get $p${ptr.slice(1)}))`;
      const k = (table: string) => `(local.get ${konst(table, v)})`;
      return terms.flatMap((factors, t) =>
        [0, 1].map((half) => {
          const promoted = factors.map((f) => {
            const value = f(load, k);
            const lane = half === 0 ? value : `(i8x16.shuffle ${HIGH_HALF} ${value} ${value})`;
            return `(f64x2.promote_low_f32x4 ${lane})`;
          });
          const product = promoted.reduce((a, b) => `(f64x2.mul ${a} ${b})`);
          const a = acc(t, v, half);
          return `(local.set ${a} (f64x2.add (local.get ${a}) ${product}))`;
        }),
      );
    });
    for (const t of terms.keys())
      for (const v of range(vecs)) for (const half of [0, 1]) locals.add(`(local ${acc(t, v, half)} v128)`);
    for (const table of tables) for (const v of range(vecs)) locals.add(`(local ${konst(table, v)} v128)`);
    const demote = (a: string) =>
      `(f32x4.demote_f64x2_zero (f64x2.mul (local.get ${a}) (local.get $scale2)))`;
    const stores = [...terms.keys()].flatMap((t) =>
      range(vecs).map(
        (v) =>
          `(v128.store offset=${16 * v} (i32.add (local.get $out) (i32.add (local.get $c) (i32.mul (i32.const ${t}) (local.get $stride)))) (i8x16.shuffle ${LOW_HALVES} ${demote(acc(t, v, 0))} ${demote(acc(t, v, 1))}))`,
      ),
    );
    const start = [
      ...[...terms.keys()].flatMap((t) =>
        range(vecs).flatMap((v) => [0, 1].map((h) => `(local.set ${acc(t, v, h)} (v128.const i64x2 0 0))`)),
      ),
      ...tables.flatMap((table) =>
        range(vecs).map(
          (v) =>
            `(local.set ${konst(table, v)} (v128.load offset=${16 * v} (i32.add (local.get ${table}) (local.get $c))))`,
        ),
      ),
      ...arrays.map((a) => `(local.set $p${a.slice(1)} (i32.add (local.get ${a}) (local.get $c)))`),
    ];
    const advance = arrays.map(
      (a) => `(local.set $p${a.slice(1)} (i32.add (local.get $p${a.slice(1)}) (local.get $stride)))`,
    );
    return `
    (block $done${width} (loop $strip${width}
      (br_if $done${width} (i32.gt_u (i32.add (local.get $c) (i32.const ${4 * width})) (local.get $end)))
      ${start.join('\n      ')}
      (local.set $r (local.get $rows))
      (block $rowsDone${width} (loop $row${width}
        (br_if $rowsDone${width} (i32.eqz (local.get $r)))
        ${body.join('\n        ')}
        ${advance.join('\n        ')}
        (local.set $r (i32.sub (local.get $r) (i32.const 1)))
        (br $row${width})))
      ${stores.join('\n      ')}
      (local.set $c (i32.add (local.get $c) (i32.const ${4 * width})))
      (br $strip${width})))`;
  };
  const strips = widths.map(strip).join('\n');
  return `
  (func (export "${name}") ${params} (param $rowFloats i32)
    ${[...locals].join(' ')}
    (local.set $stride (i32.shl (local.get $rowFloats) (i32.const 2)))
    (local.set $end (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $scale2 (f64x2.splat (local.get $scale)))
    ${strips}
  )`;
}

/**
 * sum_rows(x, rows, cols, out, scale): out[c] = float32(scale * sum over r of x[r, c]), the sum in float64
 * in row order (bit-identical to the JavaScript loop of reduce-leading-axes.ts). x: [rows, cols], cols a
 * multiple of 4.
 */
export function sumRows(): string {
  return columnSums(
    'sum_rows',
    '(param $x i32) (param $rows i32) (param $cols i32) (param $out i32) (param $scale f64)',
    ['$x'],
    [],
    [[(load) => load('$x')]],
    [16, 4],
  );
}

/**
 * centered_squares(x, mean, rows, cols, out, scale): out[c] = float32(scale * sum over r of
 * (x[r, c] - mean[c])^2), the difference in float32, its square and the sum in float64 (the batch
 * variance, two-pass).
 */
export function centeredSquares(): string {
  const d = (load: (ptr: string) => string, k: (t: string) => string) =>
    `(f32x4.sub ${load('$x')} ${k('$mean')})`;
  return columnSums(
    'centered_squares',
    '(param $x i32) (param $mean i32) (param $rows i32) (param $cols i32) (param $out i32) (param $scale f64)',
    ['$x'],
    ['$mean'],
    [[d, d]],
    [16, 4],
  );
}

/**
 * bn_grad_sums(dy, x, mean, invStd, rows, cols, out): out[c] = sum over r of dy[r, c] and
 * out[cols + c] = sum over r of dy[r, c] * xhat[r, c], xhat = (x - mean) * invStd in float32, products
 * and sums in float64 (batch norm's dbeta and dgamma).
 */
export function bnGradSums(): string {
  return columnSums(
    'bn_grad_sums',
    '(param $dy i32) (param $x i32) (param $mean i32) (param $invStd i32) (param $rows i32) (param $cols i32) (param $out i32) (param $scale f64)',
    ['$dy', '$x'],
    ['$mean', '$invStd'],
    [
      [(load) => load('$dy')],
      [
        (load) => load('$dy'),
        (load, k) => `(f32x4.mul (f32x4.sub ${load('$x')} ${k('$mean')}) ${k('$invStd')})`,
      ],
    ],
    [8, 4],
  );
}

/**
 * A function over [rows, cols] float32 arrays (cols a multiple of 4), row by row, 4 columns at a time:
 * `out`[r, c] = expr, built from `load(ptr)` (the array at param `ptr`, at [r, c..c+3]) and `tab(k)` (row k
 * of the [*, cols] table at param $tab, at c..c+3).
 */
function rowMap(
  name: string,
  params: string,
  inputs: string[],
  out: string,
  expr: (load: (ptr: string) => string, tab: (k: number) => string) => string,
): string {
  const ptrs = [...inputs, out];
  const local = (ptr: string) => `$row${ptr.slice(1)}`;
  const load = (ptr: string) => `(v128.load (i32.add (local.get ${local(ptr)}) (local.get $c)))`;
  const tab = (k: number) =>
    `(v128.load (i32.add (local.get $tab) (i32.add (local.get $c) (i32.mul (i32.const ${k}) (local.get $stride)))))`;
  return `
  (func (export "${name}") ${params}
    (local $c i32) (local $stride i32) (local $r i32) ${ptrs.map((p) => `(local ${local(p)} i32)`).join(' ')}
    (local.set $stride (i32.shl (local.get $cols) (i32.const 2)))
    ${ptrs.map((p) => `(local.set ${local(p)} (local.get ${p}))`).join(' ')}
    (local.set $r (local.get $rows))
    (block $done (loop $row
      (br_if $done (i32.eqz (local.get $r)))
      (local.set $c (i32.const 0))
      (block $rowDone (loop $col
        (br_if $rowDone (i32.ge_u (local.get $c) (local.get $stride)))
        (v128.store (i32.add (local.get ${local(out)}) (local.get $c)) ${expr(load, tab)})
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $col)))
      ${ptrs.map((p) => `(local.set ${local(p)} (i32.add (local.get ${local(p)}) (local.get $stride)))`).join(' ')}
      (local.set $r (i32.sub (local.get $r) (i32.const 1)))
      (br $row)))
  )`;
}

/**
 * bn_backward(dy, x, rows, cols, tab, dx): dx[r, c] = dy[r, c] * A[c] + (x[r, c] - mean[c]) * B[c] + C[c]
 * in float32, tab = [mean, A, B, C] (4 rows of cols): batch norm's input gradient through the batch
 * statistics, with A = gamma invStd, B = -gamma invStd^2 dgamma / N, C = -gamma invStd dbeta / N.
 */
export function bnBackward(): string {
  return rowMap(
    'bn_backward',
    '(param $dy i32) (param $x i32) (param $rows i32) (param $cols i32) (param $tab i32) (param $dx i32)',
    ['$dy', '$x'],
    '$dx',
    (load, tab) =>
      `(f32x4.add (f32x4.add (f32x4.mul ${load('$dy')} ${tab(1)}) (f32x4.mul (f32x4.sub ${load('$x')} ${tab(0)}) ${tab(2)})) ${tab(3)})`,
  );
}

/**
 * normalize(x, rows, cols, tab, y): y[r, c] = (x[r, c] - tab[c]) * tab[cols + c] + tab[2 cols + c] in
 * float32 (batch norm with per-channel mean, scale = gamma / sqrt(var + eps) and shift = beta; the mean is
 * subtracted first so a large mean does not cancel). x, y: [rows, cols] (y may be x), cols a multiple of 4.
 */
export function normalize(): string {
  return rowMap(
    'normalize',
    '(param $x i32) (param $rows i32) (param $cols i32) (param $tab i32) (param $y i32)',
    ['$x'],
    '$y',
    (load, tab) => `(f32x4.add (f32x4.mul (f32x4.sub ${load('$x')} ${tab(0)}) ${tab(1)}) ${tab(2)})`,
  );
}
