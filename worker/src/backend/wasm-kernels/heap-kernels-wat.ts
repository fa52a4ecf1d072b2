/**
 * Generates the WebAssembly text of our kernels on the tfjs heap (heap-kernels.ts): the Winograd
 * F(4x4, 3x3) transforms (winograd-conv.ts explains the algorithm), float64 column sums and the batch-norm
 * normalisation. The 6x6 transforms are straight-line SIMD code, 4 channels per vector, so they are
 * written by this generator rather than by hand; `npm run build:wasm` assembles the text with wabt into
 * heap-kernels-wasm.ts, and heap-kernels.test.ts checks that the committed bytes are this generator's.
 *
 * The module owns no memory: it imports the tfjs-backend-wasm heap ("env" "memory", shared in the
 * threaded build) and touches only the tensors whose heap offsets it is given. It has no data, no
 * globals and no stack, so it cannot disturb the allocator of the module it shares the heap with.
 * Pointer tables (36 i32 heap offsets) let the 36 per-point matrices be separate tensors, which
 * XNNPACK's matrix product takes as they are.
 *
 * Transform matrices (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", points
 * 0, 1, -1, 2, -2, inf):
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 */

/** Straight-line SIMD code over named v128 locals. */
class Block {
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

/** B^T d for one column d (6 values -> 6), with shared subexpressions. */
function inputRows(b: Block, d: string[]): string[] {
  const [d0, d1, d2, d3, d4, d5] = d;
  const a = b.sub(d4, b.scale(d2, 4)); // d4 - 4 d2
  const c = b.sub(d3, b.scale(d1, 4)); // d3 - 4 d1
  const e = b.sub(d4, d2);
  const f = b.scale(b.sub(d3, d1), 2);
  return [
    b.add(b.scale(b.sub(d0, d2), 4), e), // 4 d0 - 5 d2 + d4
    b.add(a, c), // -4 d1 - 4 d2 + d3 + d4
    b.sub(a, c), // 4 d1 - 4 d2 - d3 + d4
    b.add(e, f), // -2 d1 - d2 + 2 d3 + d4
    b.sub(e, f), // 2 d1 - d2 - 2 d3 + d4
    b.add(b.scale(b.sub(d1, d3), 4), b.sub(d5, d3)), // 4 d1 - 5 d3 + d5
  ];
}

/** A^T m for one column m (6 values -> 4). */
function outputRows(b: Block, m: string[]): string[] {
  const [m0, m1, m2, m3, m4, m5] = m;
  const s12 = b.add(m1, m2);
  const d12 = b.sub(m1, m2);
  const s34 = b.add(m3, m4);
  const d34 = b.sub(m3, m4);
  return [
    b.add(b.add(m0, s12), s34),
    b.add(d12, b.scale(d34, 2)),
    b.add(s12, b.scale(s34, 4)),
    b.add(b.add(d12, b.scale(d34, 8)), m5),
  ];
}

/** G g for one column g (3 values -> 6). */
function filterRows(b: Block, g: string[]): string[] {
  const [g0, g1, g2] = g;
  const s02 = b.add(g0, g2);
  const p = b.add(s02, g1);
  const q = b.sub(s02, g1);
  const g0g2 = b.add(g0, b.scale(g2, 4)); // g0 + 4 g2
  const g1x2 = b.scale(g1, 2);
  return [
    b.scale(g0, 1 / 4),
    b.scale(p, -1 / 6),
    b.scale(q, -1 / 6),
    b.scale(b.add(g0g2, g1x2), 1 / 24),
    b.scale(b.sub(g0g2, g1x2), 1 / 24),
    g2,
  ];
}

/** D^T X D for an n x n grid of locals: `rows` maps a column of n values to k values. */
function twoPass(b: Block, x: string[][], rows: (b: Block, v: string[]) => string[]): string[][] {
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

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const get = (name: string) => `(local.get ${name})`;

/** i32 locals `$<p>0 .. $<p>35` loaded from a table of 36 heap offsets. */
function tableLocals(p: string, table: string, locals: string[], code: string[]): void {
  for (const k of range(36)) {
    locals.push(`(local $${p}${k} i32)`);
    code.push(`(local.set $${p}${k} (i32.load offset=${4 * k} (local.get ${table})))`);
  }
}

/**
 * The window of a tile: for rows i and columns j below `size`, i32 locals $ok<i>_<j> (inside the
 * [rows, cols] image) and $a<i>_<j> (byte address of element (img, y0 + i, x0 + j, 0) of the NHWC tensor at
 * `base`; `base` itself when outside, so masked loads stay in bounds). Needs $nh = img * rows, $y0, $x0, $c.
 */
function windowAddresses(size: number, base: string, rows: string, cols: string, locals: string[]): string[] {
  const code: string[] = [];
  for (const i of range(size)) {
    locals.push(`(local $rowOk${i} i32)`, `(local $rowBase${i} i32)`, `(local $colOk${i} i32)`);
    code.push(
      `(local.set $rowOk${i} (i32.lt_u (i32.add (local.get $y0) (i32.const ${i})) (local.get ${rows})))`,
      `(local.set $rowBase${i} (i32.mul (i32.add (local.get $nh) (i32.add (local.get $y0) (i32.const ${i}))) (local.get ${cols})))`,
      `(local.set $colOk${i} (i32.lt_u (i32.add (local.get $x0) (i32.const ${i})) (local.get ${cols})))`,
    );
  }
  for (const i of range(size)) {
    for (const j of range(size)) {
      const ij = `${i}_${j}`;
      locals.push(`(local $ok${ij} i32)`, `(local $a${ij} i32)`);
      code.push(
        `(local.set $ok${ij} (i32.and (local.get $rowOk${i}) (local.get $colOk${j})))`,
        `(local.set $a${ij} (select (i32.add (local.get ${base}) (i32.shl (i32.mul (i32.add (local.get $rowBase${i}) (i32.add (local.get $x0) (i32.const ${j}))) (local.get $c)) (i32.const 2))) (local.get ${base}) (local.get $ok${ij})))`,
      );
    }
  }
  return code;
}

/** The size x size window of a tile loaded for the current channel block, zero outside the image. */
function maskedWindow(b: Block, size: number): string[][] {
  return range(size).map((i) =>
    range(size).map((j) =>
      b.set(
        `(select (result v128) (v128.load (i32.add (local.get $a${i}_${j}) (local.get $coff))) (v128.const i32x4 0 0 0 0) (local.get $ok${i}_${j}))`,
      ),
    ),
  );
}

/** Locals of {@link eachTile} and {@link eachChannelBlock}. */
const TILE_LOCALS = `(local $img i32) (local $ty i32) (local $tx i32) (local $y0 i32) (local $x0 i32) (local $nh i32)
    (local $coff i32) (local $cbytes i32) (local $tileOff i32)`;

/**
 * The loop nest over images, tile rows and tile columns (params $n, $th, $tw): sets $nh = img * `rows`,
 * the tile origin $y0 / $x0 (4 * tile index minus `padTop` / `padLeft`, when given), runs `tile`, then
 * advances $tileOff by one tile's channels ($cbytes) and runs `next`.
 */
function eachTile(rows: string, tile: string[], next: string[] = [], pads?: [string, string]): string {
  const origin = (t: string, pad: string | undefined) => {
    const scaled = `(i32.shl (local.get ${t}) (i32.const 2))`;
    return pad === undefined ? scaled : `(i32.sub ${scaled} (local.get ${pad}))`;
  };
  return `
    (local.set $cbytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $img (i32.const 0))
    (block $doneN (loop $eachN
      (br_if $doneN (i32.ge_u (local.get $img) (local.get $n)))
      (local.set $nh (i32.mul (local.get $img) (local.get ${rows})))
      (local.set $ty (i32.const 0))
      (block $doneY (loop $eachY
        (br_if $doneY (i32.ge_u (local.get $ty) (local.get $th)))
        (local.set $y0 ${origin('$ty', pads?.[0])})
        (local.set $tx (i32.const 0))
        (block $doneX (loop $eachX
          (br_if $doneX (i32.ge_u (local.get $tx) (local.get $tw)))
          (local.set $x0 ${origin('$tx', pads?.[1])})
          ${tile.join('\n          ')}
          (local.set $tileOff (i32.add (local.get $tileOff) (local.get $cbytes)))
          ${next.join('\n          ')}
          (local.set $tx (i32.add (local.get $tx) (i32.const 1)))
          (br $eachX)))
        (local.set $ty (i32.add (local.get $ty) (i32.const 1)))
        (br $eachY)))
      (local.set $img (i32.add (local.get $img) (i32.const 1)))
      (br $eachN)))`;
}

/** `body` for every block of 4 channels: $coff = 0, 16, ... < $cbytes. */
function eachChannelBlock(label: string, body: string[]): string {
  return `
          (local.set $coff (i32.const 0))
          (block $done${label} (loop $each${label}
            (br_if $done${label} (i32.ge_u (local.get $coff) (local.get $cbytes)))
            ${body.join('\n            ')}
            (local.set $coff (i32.add (local.get $coff) (i32.const 16)))
            (br $each${label})))`;
}

/** Stores of 36 transformed values to the tables' matrices at [tile, channel block]. */
function tileStores(table: string, values: string[][]): string[] {
  return range(36).map(
    (k) =>
      `(v128.store (i32.add (local.get $${table}${k}) (i32.add (local.get $tileOff) (local.get $coff))) ${get(values[Math.floor(k / 6)][k % 6])})`,
  );
}

/**
 * input_transform(x, vTable, n, h, w, c, tilesH, tilesW, padTop, padLeft): for every 4x4 output tile t
 * (row-major over n, tile rows, tile columns) and every 4 channels, V_k[t, c] = (B^T d B)_k of the 6x6
 * input window at (tileRow*4 - padTop, tileCol*4 - padLeft), zero outside the input. x: [n, h, w, c];
 * V_k: [tiles, c]. c must be a multiple of 4. input_transform_t (`transposed`) writes V_k: [c, tiles].
 */
function inputTransform(transposed: boolean): string {
  const locals: string[] = [];
  const head: string[] = [];
  tableLocals('vb', '$vt', locals, head);
  const tile = windowAddresses(6, '$x', '$h', '$w', locals);
  const b = new Block('t', locals);
  const v = twoPass(b, maskedWindow(b, 6), inputRows);
  // Transposed: lane l of channel block c goes to row c + l, column t, one 4-byte store per lane. $coff
  // counts 16 bytes per block of 4 channels and rows are `tiles` floats apart, so the row of channel
  // c + l starts (coff / 4 + l) * tiles * 4 = coff * tiles + l * tiles * 4 bytes in; $tOff = 4 t.
  const transposedStores = range(36).flatMap((k) =>
    range(4).map((l) => {
      const row = l === 0 ? '(local.get $tOff)' : `(i32.add (local.get $tOff) (local.get $rowStride${l}))`;
      return `(f32.store (i32.add (local.get $vb${k}) (i32.add ${row} (i32.mul (local.get $coff) (local.get $tiles)))) (f32x4.extract_lane ${l} ${get(v[Math.floor(k / 6)][k % 6])}))`;
    }),
  );
  const stores = transposed ? transposedStores : tileStores('vb', v);
  return `
  (func (export "${transposed ? 'input_transform_t' : 'input_transform'}") (param $x i32) (param $vt i32)
      (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $th i32) (param $tw i32)
      (param $pt i32) (param $pl i32)
    ${TILE_LOCALS}
    (local $tiles i32) (local $tOff i32) (local $rowStride1 i32) (local $rowStride2 i32) (local $rowStride3 i32)
    ${locals.join(' ')}
    ${head.join('\n    ')}
    (local.set $tiles (i32.mul (local.get $n) (i32.mul (local.get $th) (local.get $tw))))
    (local.set $rowStride1 (i32.shl (local.get $tiles) (i32.const 2)))
    (local.set $rowStride2 (i32.shl (local.get $tiles) (i32.const 3)))
    (local.set $rowStride3 (i32.mul (local.get $tiles) (i32.const 12)))
    ${eachTile(
      '$h',
      [...tile, eachChannelBlock('C', [...b.code, ...stores])],
      ['(local.set $tOff (i32.add (local.get $tOff) (i32.const 4)))'],
      ['$pt', '$pl'],
    )}
  )`;
}

/**
 * output_transform(mTable, y, n, outH, outW, c, tilesH, tilesW): y[img, ty*4 + i, tx*4 + j, c] =
 * (A^T m A)_ij of the 36 values M_k[t, c], for the positions inside the output. M_k: [tiles, c];
 * y: [n, outH, outW, c]. c must be a multiple of 4.
 */
function outputTransform(): string {
  const locals: string[] = [];
  const head: string[] = [];
  tableLocals('mb', '$mt', locals, head);
  const tile = windowAddresses(4, '$y', '$oh', '$ow', locals);
  const b = new Block('t', locals);
  const m = range(6).map((i) =>
    range(6).map((j) =>
      b.set(
        `(v128.load (i32.add (local.get $mb${i * 6 + j}) (i32.add (local.get $tileOff) (local.get $coff))))`,
      ),
    ),
  );
  const y = twoPass(b, m, outputRows);
  const store = (i: number, j: number) =>
    `(v128.store (i32.add (local.get $a${i}_${j}) (local.get $coff)) ${get(y[i][j])})`;
  const fullStores = range(4).flatMap((i) => range(4).map((j) => store(i, j)));
  const edgeStores = range(4).flatMap((i) =>
    range(4).map((j) => `(if (local.get $ok${i}_${j}) (then ${store(i, j)}))`),
  );
  return `
  (func (export "output_transform") (param $mt i32) (param $y i32) (param $n i32) (param $oh i32) (param $ow i32)
      (param $c i32) (param $th i32) (param $tw i32)
    ${TILE_LOCALS}
    ${locals.join(' ')}
    ${head.join('\n    ')}
    ${eachTile('$oh', [
      ...tile,
      `(if (local.get $ok3_3)
            (then ${eachChannelBlock('Full', [...b.code, ...fullStores])})
            (else ${eachChannelBlock('Edge', [...b.code, ...edgeStores])}))`,
    ])}
  )`;
}

/**
 * A function over every block of 4 output channels of a [ci, co] filter plane (params $ci, $co): $off
 * runs over the plane's bytes in steps of 16 and $tapBytes is one tap plane's size (ci * co * 4).
 */
function filterLoop(name: string, params: string, locals: string[], head: string[], body: string[]): string {
  return `
  (func (export "${name}") ${params} (param $ci i32) (param $co i32)
    (local $off i32) (local $tapBytes i32)
    ${locals.join(' ')}
    ${head.join('\n    ')}
    (local.set $tapBytes (i32.shl (i32.mul (local.get $ci) (local.get $co)) (i32.const 2)))
    (local.set $off (i32.const 0))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $off) (local.get $tapBytes)))
      ${body.join('\n      ')}
      (local.set $off (i32.add (local.get $off) (i32.const 16)))
      (br $each)))
  )`;
}

/**
 * filter_transform(g, uTable, ci, co): U_k[ci, co] = (G g G^T)_k of the 3x3 filter taps g[., ., ci, co].
 * g: [3, 3, ci, co]; U_k: [ci, co]. co must be a multiple of 4.
 */
function filterTransform(): string {
  const locals: string[] = [];
  const head: string[] = [];
  tableLocals('ub', '$ut', locals, head);
  const b = new Block('t', locals);
  const g = range(3).map((i) =>
    range(3).map((j) =>
      b.set(
        `(v128.load (i32.add (local.get $g) (i32.add (i32.mul (i32.const ${i * 3 + j}) (local.get $tapBytes)) (local.get $off))))`,
      ),
    ),
  );
  const u = twoPass(b, g, filterRows);
  const stores = range(36).map(
    (k) => `(v128.store (i32.add (local.get $ub${k}) (local.get $off)) ${get(u[Math.floor(k / 6)][k % 6])})`,
  );
  return filterLoop(
    'filter_transform',
    '(param $g i32) (param $ut i32)',
    locals,
    [...head],
    [...b.code, ...stores],
  );
}

/** A e for one column e of a dy tile (4 values -> 6): A = [1 0 0 0; 1 1 1 1; 1 -1 1 -1; 1 2 4 8; 1 -2 4 -8; 0 0 0 1]. */
function gradRows(b: Block, e: string[]): string[] {
  const [e0, e1, e2, e3] = e;
  const s02 = b.add(e0, e2);
  const s13 = b.add(e1, e3);
  const q02 = b.add(e0, b.scale(e2, 4)); // e0 + 4 e2
  const q13 = b.scale(b.add(e1, b.scale(e3, 4)), 2); // 2 e1 + 8 e3
  return [e0, b.add(s02, s13), b.sub(s02, s13), b.add(q02, q13), b.sub(q02, q13), e3];
}

/** G^T z for one column z (6 values -> 3). */
function filterGradRows(b: Block, z: string[]): string[] {
  const [z0, z1, z2, z3, z4, z5] = z;
  const s12 = b.scale(b.add(z1, z2), -1 / 6);
  const s34 = b.add(z3, z4);
  return [
    b.add(b.add(b.scale(z0, 1 / 4), s12), b.scale(s34, 1 / 24)),
    b.add(b.scale(b.sub(z1, z2), -1 / 6), b.scale(b.sub(z3, z4), 1 / 12)),
    b.add(b.add(s12, b.scale(s34, 1 / 6)), z5),
  ];
}

/**
 * dy_transform(dy, eTable, n, outH, outW, c, tilesH, tilesW): E_k[t, c] = (A e A^T)_k of the 4x4 dy tile
 * at (tileRow*4, tileCol*4), zero outside dy. dy: [n, outH, outW, c]; E_k: [tiles, c].
 */
function dyTransform(): string {
  const locals: string[] = [];
  const head: string[] = [];
  tableLocals('eb', '$et', locals, head);
  const tile = windowAddresses(4, '$dy', '$oh', '$ow', locals);
  const b = new Block('t', locals);
  const z = twoPass(b, maskedWindow(b, 4), gradRows);
  return `
  (func (export "dy_transform") (param $dy i32) (param $et i32) (param $n i32) (param $oh i32) (param $ow i32)
      (param $c i32) (param $th i32) (param $tw i32)
    ${TILE_LOCALS}
    ${locals.join(' ')}
    ${head.join('\n    ')}
    ${eachTile('$oh', [...tile, eachChannelBlock('C', [...b.code, ...tileStores('eb', z)])])}
  )`;
}

/**
 * filter_grad_transform(zTable, dw, ci, co): dw[., ., ci, co] = G^T Z[ci, co] G (6x6 -> 3x3) of the 36
 * products Z_k[ci, co] = sum over tiles of V_k[t, ci] E_k[t, co]. Z_k: [ci, co]; dw: [3, 3, ci, co].
 */
function filterGradTransform(): string {
  const locals: string[] = [];
  const head: string[] = [];
  tableLocals('zb', '$zt', locals, head);
  const b = new Block('t', locals);
  const z = range(6).map((i) =>
    range(6).map((j) => b.set(`(v128.load (i32.add (local.get $zb${i * 6 + j}) (local.get $off)))`)),
  );
  const g = twoPass(b, z, filterGradRows);
  const stores = range(3).flatMap((i) =>
    range(3).map(
      (j) =>
        `(v128.store (i32.add (local.get $dw) (i32.add (i32.mul (i32.const ${i * 3 + j}) (local.get $tapBytes)) (local.get $off))) ${get(g[i][j])})`,
    ),
  );
  return filterLoop(
    'filter_grad_transform',
    '(param $zt i32) (param $dw i32)',
    locals,
    [...head],
    [...b.code, ...stores],
  );
}

/** Lanes 2 and 3 of a f32x4 moved to lanes 0 and 1 (for f64x2.promote_low_f32x4). */
const HIGH_HALF = '8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15';
/** Lanes 0-1 of the first operand then lanes 0-1 of the second (two demoted f64x2 -> one f32x4). */
const LOW_HALVES = '0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23';

/**
 * A column-sum function over [rows, cols] float32 arrays (cols a multiple of 4; params $rows, $cols, $out,
 * $scale f64 and the arrays): for each term, out[t * cols + c] = float32(scale * sum over rows of the
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
  const locals = new Set<string>(['(local $c i32) (local $r i32) (local $stride i32) (local $scale2 v128)']);
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
      (br_if $done${width} (i32.gt_u (i32.add (local.get $c) (i32.const ${4 * width})) (local.get $stride)))
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
  (func (export "${name}") ${params}
    ${[...locals].join(' ')}
    (local.set $stride (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $scale2 (f64x2.splat (local.get $scale)))
    ${strips}
  )`;
}

/**
 * sum_rows(x, rows, cols, out, scale): out[c] = float32(scale * sum over r of x[r, c]), the sum in float64
 * in row order (bit-identical to the JavaScript loop of reduce-leading-axes.ts). x: [rows, cols], cols a
 * multiple of 4.
 */
function sumRows(): string {
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
function centeredSquares(): string {
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
function bnGradSums(): string {
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
function bnBackward(): string {
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
function normalize(): string {
  return rowMap(
    'normalize',
    '(param $x i32) (param $rows i32) (param $cols i32) (param $tab i32) (param $y i32)',
    ['$x'],
    '$y',
    (load, tab) => `(f32x4.add (f32x4.mul (f32x4.sub ${load('$x')} ${tab(0)}) ${tab(1)}) ${tab(2)})`,
  );
}

/** Instructions of one lane width: 4 floats per v128, or 1 f32. */
interface Lanes {
  /** The element(s) at byte offset $i of the array at param `ptr`. */
  load(ptr: string): string;
  store(ptr: string, value: string): string;
  op(name: 'add' | 'sub' | 'mul', a: string, b: string): string;
  /** The f32 param `name`, as this width needs it. */
  k(name: string): string;
  /** A scratch local of this width. */
  tmp: string;
}

const at = (ptr: string) => `(i32.add (local.get ${ptr}) (local.get $i))`;
const VEC: Lanes = {
  load: (ptr) => `(v128.load ${at(ptr)})`,
  store: (ptr, value) => `(v128.store ${at(ptr)} ${value})`,
  op: (name, a, b) => `(f32x4.${name} ${a} ${b})`,
  k: (name) => `(f32x4.splat (local.get ${name}))`,
  tmp: '$t4',
};
const SCALAR: Lanes = {
  load: (ptr) => `(f32.load ${at(ptr)})`,
  store: (ptr, value) => `(f32.store ${at(ptr)} ${value})`,
  op: (name, a, b) => `(f32.${name} ${a} ${b})`,
  k: (name) => `(local.get ${name})`,
  tmp: '$t1',
};

/**
 * A function over n float32 elements (last param $n): `body` runs 4 elements per SIMD step, then one at a
 * time for the rest, with $i the byte offset of the current element(s) in every array.
 */
function elementwise(name: string, params: string, body: (l: Lanes) => string[]): string {
  return `
  (func (export "${name}") ${params} (param $n i32)
    (local $i i32) (local $end i32) (local $vecEnd i32) (local $t4 v128) (local $t1 f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (block $vecDone (loop $vecLoop
      (br_if $vecDone (i32.ge_u (local.get $i) (local.get $vecEnd)))
      ${body(VEC).join('\n      ')}
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $vecLoop)))
    (block $done (loop $tail
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      ${body(SCALAR).join('\n      ')}
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $tail)))
  )`;
}

/**
 * sgd_momentum(w, g, buf, wd, momentum, lr, wOut, bufOut, n) and sgd_momentum_nodecay (wd ignored): one
 * SGD step with momentum in a single pass, float32 operation for operation as the tf ops of
 * worker/src/train/sgd.ts (so bit-identical): g' = g + w * wd; buf' = buf * momentum + g';
 * w' = w - buf' * lr.
 */
function sgdMomentum(decay: boolean): string {
  return elementwise(
    decay ? 'sgd_momentum' : 'sgd_momentum_nodecay',
    '(param $w i32) (param $g i32) (param $buf i32) (param $wd f32) (param $momentum f32) (param $lr f32) (param $wOut i32) (param $bufOut i32)',
    (l) => {
      const g = decay ? l.op('add', l.load('$g'), l.op('mul', l.load('$w'), l.k('$wd'))) : l.load('$g');
      return [
        `(local.set ${l.tmp} ${l.op('add', l.op('mul', l.load('$buf'), l.k('$momentum')), g)})`,
        l.store('$bufOut', `(local.get ${l.tmp})`),
        l.store('$wOut', l.op('sub', l.load('$w'), l.op('mul', `(local.get ${l.tmp})`, l.k('$lr')))),
      ];
    },
  );
}

/**
 * axpby(a, b, alpha, beta, out, n): out = a * alpha + b * beta in float32 (the key encoder's momentum
 * update theta_k m + theta_q (1 - m), bit-identical to tf.add(tf.mul(a, alpha), tf.mul(b, beta))).
 */
function axpby(): string {
  return elementwise(
    'axpby',
    '(param $a i32) (param $b i32) (param $alpha f32) (param $beta f32) (param $out i32)',
    (l) => [
      l.store(
        '$out',
        l.op('add', l.op('mul', l.load('$a'), l.k('$alpha')), l.op('mul', l.load('$b'), l.k('$beta'))),
      ),
    ],
  );
}

/** The module's text; `shared` for the threaded tfjs build, whose heap is a shared memory. */
export function heapKernelsWat(shared: boolean): string {
  const memory = shared ? '(memory 1 65536 shared)' : '(memory 1)';
  return `;; Generated by worker/src/backend/wasm-kernels/heap-kernels-wat.ts.
(module
  (import "env" "memory" ${memory})
${filterTransform()}
${inputTransform(false)}
${inputTransform(true)}
${outputTransform()}
${dyTransform()}
${filterGradTransform()}
${sumRows()}
${centeredSquares()}
${bnGradSums()}
${bnBackward()}
${normalize()}
${sgdMomentum(true)}
${sgdMomentum(false)}
${axpby()}
)
`;
}
