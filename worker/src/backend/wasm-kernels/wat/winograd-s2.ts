/**
 * WebAssembly text of the stride-2 Winograd transforms (../winograd-s2.ts explains the algorithm). Per axis
 * the 3x3 filter's even taps (0, 2) meet the even input samples of a tile's window and run F(4, 2) (5
 * points); the odd tap (1) meets the odd samples and needs no transform (its 4 "points" are the 4 outputs,
 * which share one filter value). The four phases of a tile give 36 matrices, in table order:
 *   EE: k = 5 p + q (25), rows = tiles;          EO: k = 25 + p (5), rows = 4 tiles (tile, odd column);
 *   OE: k = 30 + q (5), rows = 4 tiles (tile, odd row);   OO: k = 35, rows = 16 tiles (tile, row, column).
 * Filter matrices U_k are all [ci, co].
 */
import { Block, get, range, tableLocals, twoPass } from './block.ts';
import {
  s2FilterGradRows,
  s2FilterRows,
  s2GradRows,
  s2InputRows,
  s2OutputRows,
} from './winograd-matrices.ts';
import {
  eachChannelBlock,
  eachTile,
  filterLoop,
  maskedLoad,
  outputTileFunction,
  TILE_LOCALS,
  windowAddresses,
  windowChannelBlocks,
} from './winograd-transforms.ts';

const EVEN = [0, 2, 4, 6, 8];
const ODD = [1, 3, 5, 7];

/**
 * Byte address of row `sub` of the current tile in matrix `k` of table `p` at the current channel block:
 * rows per tile are 1 (EE), 4 (EO, OE) or 16 (OO); $tileOff is the tile's offset in a 1-row-per-tile matrix.
 */
function rowAddress(p: string, k: number, sub: number): string {
  const perTile = k < 25 ? 0 : k < 35 ? 2 : 4; // log2 of the rows per tile
  const tile =
    perTile === 0 ? '(local.get $tileOff)' : `(i32.shl (local.get $tileOff) (i32.const ${perTile}))`;
  const row = sub === 0 ? tile : `(i32.add ${tile} (i32.mul (local.get $cbytes) (i32.const ${sub})))`;
  return `(i32.add (local.get $${p}${k}) (i32.add ${row} (local.get $coff)))`;
}

/** One column of values through `rows`, for each column of a grid: grid [i][j] -> out [r][j]. */
function columns(b: Block, grid: string[][], rows: (b: Block, v: string[]) => string[]): string[][] {
  const cols = grid[0].map((_, j) =>
    rows(
      b,
      grid.map((r) => r[j]),
    ),
  );
  return cols[0].map((_, r) => cols.map((c) => c[r]));
}

/** One row of values through `rows`, for each row of a grid: grid [i][j] -> out [i][r]. */
function rowsOf(b: Block, grid: string[][], rows: (b: Block, v: string[]) => string[]): string[][] {
  return grid.map((r) => rows(b, r));
}

/**
 * Stores of the four phases of a tile, each given as a grid of values: EE [p][q], EO [p][odd column],
 * OE [odd row][q], OO [odd row][odd column].
 */
function phaseStores(
  table: string,
  ee: string[][],
  eo: string[][],
  oe: string[][],
  oo: string[][],
): string[] {
  const store = (k: number, sub: number, v: string) => `(v128.store ${rowAddress(table, k, sub)} ${get(v)})`;
  return [
    ...range(25).map((k) => store(k, 0, ee[Math.floor(k / 5)][k % 5])),
    ...range(5).flatMap((p) => range(4).map((j) => store(25 + p, j, eo[p][j]))),
    ...range(5).flatMap((q) => range(4).map((i) => store(30 + q, i, oe[i][q]))),
    ...range(4).flatMap((i) => range(4).map((j) => store(35, 4 * i + j, oo[i][j]))),
  ];
}

/** Loads of the four phases of a tile from table `table` (the layout phaseStores writes). */
function phaseLoads(b: Block, table: string) {
  const load = (k: number, sub: number) => b.set(`(v128.load ${rowAddress(table, k, sub)})`);
  return {
    ee: range(5).map((p) => range(5).map((q) => load(5 * p + q, 0))),
    eo: range(5).map((p) => range(4).map((j) => load(25 + p, j))),
    oe: range(4).map((i) => range(5).map((q) => load(30 + q, i))),
    oo: range(4).map((i) => range(4).map((j) => load(35, 4 * i + j))),
  };
}

const TILE_PARAMS = `(param $n i32) (param $oh i32) (param $ow i32) (param $c i32) (param $th i32) (param $tw i32)`;

/**
 * s2_input_transform(x, vTable, n, h, w, c, tilesH, tilesW, padTop, padLeft): the 9x9 input window of
 * each 4x4 output tile, at (8 tileRow - padTop, 8 tileCol - padLeft), zero outside x, split by the parity
 * of its rows and columns: EE = B^T d_EE B, EO = B^T d_EO, OE = d_OE B, OO = d_OO.
 */
export function s2InputTransform(): string {
  const locals: string[] = [];
  const head: string[] = [];
  tableLocals('vb', '$vt', locals, head);
  const tile = windowAddresses(9, '$x', '$h', '$w', locals);
  const blocks = windowChannelBlocks(9, locals, (b, load) => {
    // Each phase loads its own samples just before its transform, keeping the live values few.
    const grid = (rows: number[], cols: number[]) => rows.map((i) => cols.map((j) => load(b, i, j)));
    const ee = twoPass(b, grid(EVEN, EVEN), s2InputRows);
    const eo = columns(b, grid(EVEN, ODD), s2InputRows);
    const oe = rowsOf(b, grid(ODD, EVEN), s2InputRows);
    return phaseStores('vb', ee, eo, oe, grid(ODD, ODD));
  });
  return `
  (func (export "s2_input_transform") (param $x i32) (param $vt i32)
      (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $th i32) (param $tw i32)
      (param $pt i32) (param $pl i32)
    ${TILE_LOCALS}
    ${locals.join(' ')}
    ${head.join('\n    ')}
    ${eachTile('$h', [...tile, blocks], [], ['$pt', '$pl'], 3)}
  )`;
}

/**
 * s2_output_transform(mTable, y, n, outH, outW, c, tilesH, tilesW): the 4x4 output block of each tile,
 * A^T M_EE A + A^T M_EO + M_OE A + M_OO, stored where it lies inside y: [n, outH, outW, c].
 */
export function s2OutputTransform(): string {
  return outputTileFunction('s2_output_transform', (b) => {
    const m = phaseLoads(b, 'mb');
    const ee = twoPass(b, m.ee, s2OutputRows);
    const eo = columns(b, m.eo, s2OutputRows);
    const oe = rowsOf(b, m.oe, s2OutputRows);
    return range(4).map((i) =>
      range(4).map((j) => b.add(b.add(ee[i][j], eo[i][j]), b.add(oe[i][j], m.oo[i][j]))),
    );
  });
}

/** Load of tap (i, j) of a [3, 3, ci, co] filter at the current block (see filterLoop). */
const tapLoad = (b: Block, base: string, i: number, j: number) =>
  b.set(
    `(v128.load (i32.add (local.get ${base}) (i32.add (i32.mul (i32.const ${i * 3 + j}) (local.get $tapBytes)) (local.get $off))))`,
  );

/**
 * s2_filter_transform(g, uTable, ci, co): U_EE = G g_EE G^T (taps rows/cols 0, 2), U_EO = G g_EO (taps
 * (0, 1), (2, 1)), U_OE = G g_OE (taps (1, 0), (1, 2)), U_OO = g(1, 1). g: [3, 3, ci, co]; U_k: [ci, co].
 */
export function s2FilterTransform(): string {
  const locals: string[] = [];
  const head: string[] = [];
  tableLocals('ub', '$ut', locals, head);
  const b = new Block('t', locals);
  const g = (i: number, j: number) => tapLoad(b, '$g', i, j);
  const ee = twoPass(
    b,
    [
      [g(0, 0), g(0, 2)],
      [g(2, 0), g(2, 2)],
    ],
    s2FilterRows,
  );
  const eo = s2FilterRows(b, [g(0, 1), g(2, 1)]);
  const oe = s2FilterRows(b, [g(1, 0), g(1, 2)]);
  const u = [...range(25).map((k) => ee[Math.floor(k / 5)][k % 5]), ...eo, ...oe, g(1, 1)];
  const stores = u.map((v, k) => `(v128.store (i32.add (local.get $ub${k}) (local.get $off)) ${get(v)})`);
  return filterLoop('s2_filter_transform', '(param $g i32) (param $ut i32)', locals, head, [
    ...b.code,
    ...stores,
  ]);
}

/**
 * s2_dy_transform(dy, eTable, n, outH, outW, c, tilesH, tilesW): the 4x4 dy block e of each tile (zero
 * outside dy) as the filter gradient's right operands: EE = A e A^T, EO = A e, OE = e A^T, OO = e.
 */
export function s2DyTransform(): string {
  const locals: string[] = [];
  const head: string[] = [];
  tableLocals('eb', '$et', locals, head);
  const tile = windowAddresses(4, '$dy', '$oh', '$ow', locals);
  const b = new Block('t', locals);
  const e = range(4).map((i) => range(4).map((j) => maskedLoad(b, i, j)));
  const ee = twoPass(b, e, s2GradRows);
  const eo = columns(b, e, s2GradRows);
  const oe = rowsOf(b, e, s2GradRows);
  return `
  (func (export "s2_dy_transform") (param $dy i32) (param $et i32) ${TILE_PARAMS}
    ${TILE_LOCALS}
    ${locals.join(' ')}
    ${head.join('\n    ')}
    ${eachTile('$oh', [...tile, eachChannelBlock('C', [...b.code, ...phaseStores('eb', ee, eo, oe, e)])])}
  )`;
}

/**
 * s2_filter_grad_transform(zTable, dw, ci, co): the taps of dw from the 36 sums Z_k = V_k^T E_k: G^T Z_EE G
 * to taps (0|2, 0|2), G^T Z_EO to (0|2, 1), Z_OE G to (1, 0|2), Z_OO to (1, 1). dw: [3, 3, ci, co].
 */
export function s2FilterGradTransform(): string {
  const locals: string[] = [];
  const head: string[] = [];
  tableLocals('zb', '$zt', locals, head);
  const b = new Block('t', locals);
  const z = (k: number) => b.set(`(v128.load (i32.add (local.get $zb${k}) (local.get $off)))`);
  const ee = twoPass(
    b,
    range(5).map((p) => range(5).map((q) => z(5 * p + q))),
    s2FilterGradRows,
  );
  const eo = s2FilterGradRows(
    b,
    range(5).map((p) => z(25 + p)),
  );
  const oe = s2FilterGradRows(
    b,
    range(5).map((q) => z(30 + q)),
  );
  const taps: Array<[number, number, string]> = [
    [0, 0, ee[0][0]],
    [0, 2, ee[0][1]],
    [2, 0, ee[1][0]],
    [2, 2, ee[1][1]],
    [0, 1, eo[0]],
    [2, 1, eo[1]],
    [1, 0, oe[0]],
    [1, 2, oe[1]],
    [1, 1, z(35)],
  ];
  const stores = taps.map(
    ([i, j, v]) =>
      `(v128.store (i32.add (local.get $dw) (i32.add (i32.mul (i32.const ${i * 3 + j}) (local.get $tapBytes)) (local.get $off))) ${get(v)})`,
  );
  return filterLoop('s2_filter_grad_transform', '(param $zt i32) (param $dw i32)', locals, head, [
    ...b.code,
    ...stores,
  ]);
}
