/**
 * WebAssembly text of the Winograd F(4x4, 3x3) transforms (../winograd-conv.ts explains the algorithm):
 * input (plain and transposed), filter, output, dy and filter-gradient transforms, 4 channels per SIMD
 * vector. Pointer tables (36 i32 heap offsets) let the 36 per-point matrices be separate tensors, which
 * XNNPACK's matrix product takes as they are.
 */
import { Block, get, range, tableLocals, twoPass } from './block.ts';
import { filterGradRows, filterRows, gradRows, inputRows, outputRows } from './winograd-matrices.ts';

/**
 * The window of a tile: for rows i and columns j below `size`, i32 locals $ok<i>_<j> (inside the
 * [rows, cols] image) and $a<i>_<j> (byte address of element (img, y0 + i, x0 + j, 0) of the NHWC tensor at
 * `base`; `base` itself when outside, so masked loads stay in bounds). Needs $nh = img * rows, $y0, $x0, $c.
 */
export function windowAddresses(
  size: number,
  base: string,
  rows: string,
  cols: string,
  locals: string[],
): string[] {
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

/** Element (i, j) of a tile's window (see windowAddresses) for the current channel block, zero outside. */
export function maskedLoad(b: Block, i: number, j: number): string {
  return b.set(
    `(select (result v128) (v128.load (i32.add (local.get $a${i}_${j}) (local.get $coff))) (v128.const i32x4 0 0 0 0) (local.get $ok${i}_${j}))`,
  );
}

/** The size x size window of a tile loaded for the current channel block, zero outside the image. */
function maskedWindow(b: Block, size: number): string[][] {
  return range(size).map((i) => range(size).map((j) => maskedLoad(b, i, j)));
}

/** A window element loaded from (i, j) of the current tile's window: `load(b, i, j)`. */
export type WindowLoad = (b: Block, i: number, j: number) => string;

/**
 * `body` (given a Block and how to load window elements) for every channel block of a tile, generated twice:
 * with plain loads when the tile's whole size x size window lies inside the input (corners (0, 0) and
 * (size-1, size-1) inside), with masked loads (zero outside) otherwise. Interior tiles skip the masking.
 */
export function windowChannelBlocks(
  size: number,
  locals: string[],
  body: (b: Block, load: WindowLoad) => string[],
): string {
  const plain: WindowLoad = (b, i, j) =>
    b.set(`(v128.load (i32.add (local.get $a${i}_${j}) (local.get $coff)))`);
  const variant = (prefix: string, load: WindowLoad, label: string) => {
    const b = new Block(prefix, locals);
    const tail = body(b, load);
    return eachChannelBlock(label, [...b.code, ...tail]);
  };
  const last = size - 1;
  return `(if (i32.and (local.get $ok0_0) (local.get $ok${last}_${last}))
            (then ${variant('u', plain, 'Inner')})
            (else ${variant('t', maskedLoad, 'Edge')}))`;
}

/** Locals of {@link eachTile} and {@link eachChannelBlock}. */
export const TILE_LOCALS = `(local $img i32) (local $ty i32) (local $tx i32) (local $y0 i32) (local $x0 i32) (local $nh i32)
    (local $coff i32) (local $cbytes i32) (local $tileOff i32)`;

/**
 * The loop nest over images, tile rows and tile columns (params $n, $th, $tw): sets $nh = img * `rows`,
 * the tile origin $y0 / $x0 (tile index << `originShift`, i.e. 4 per tile by default, minus `padTop` /
 * `padLeft` when given), runs `tile`, then advances $tileOff by one tile's channels ($cbytes) and runs `next`.
 */
export function eachTile(
  rows: string,
  tile: string[],
  next: string[] = [],
  pads?: [string, string],
  originShift = 2,
): string {
  const origin = (t: string, pad: string | undefined) => {
    const scaled = `(i32.shl (local.get ${t}) (i32.const ${originShift}))`;
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
export function eachChannelBlock(label: string, body: string[]): string {
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
export function inputTransform(transposed: boolean): string {
  const locals: string[] = [];
  const head: string[] = [];
  tableLocals('vb', '$vt', locals, head);
  const tile = windowAddresses(6, '$x', '$h', '$w', locals);
  // Transposed: lane l of channel block c goes to row c + l, column t, one 4-byte store per lane. $coff
  // counts 16 bytes per block of 4 channels and rows are `tiles` floats apart, so the row of channel
  // c + l starts (coff / 4 + l) * tiles * 4 = coff * tiles + l * tiles * 4 bytes in; $tOff = 4 t.
  const transposedStores = (v: string[][]) =>
    range(36).flatMap((k) =>
      range(4).map((l) => {
        const row = l === 0 ? '(local.get $tOff)' : `(i32.add (local.get $tOff) (local.get $rowStride${l}))`;
        return `(f32.store (i32.add (local.get $vb${k}) (i32.add ${row} (i32.mul (local.get $coff) (local.get $tiles)))) (f32x4.extract_lane ${l} ${get(v[Math.floor(k / 6)][k % 6])}))`;
      }),
    );
  const blocks = windowChannelBlocks(6, locals, (b, load) => {
    const v = twoPass(
      b,
      range(6).map((i) => range(6).map((j) => load(b, i, j))),
      inputRows,
    );
    return transposed ? transposedStores(v) : tileStores('vb', v);
  });
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
      [...tile, blocks],
      ['(local.set $tOff (i32.add (local.get $tOff) (i32.const 4)))'],
      ['$pt', '$pl'],
    )}
  )`;
}

/**
 * A function (mTable, y, n, outH, outW, c, tilesH, tilesW) over the 4x4 output tiles: `block(b)` computes a
 * tile's 4 x 4 outputs for the current channel block from the 36 matrices of table $mb (their rows at
 * $tileOff), stored where they lie inside y: [n, outH, outW, c]. c must be a multiple of 4.
 */
export function outputTileFunction(name: string, block: (b: Block) => string[][]): string {
  const locals: string[] = [];
  const head: string[] = [];
  tableLocals('mb', '$mt', locals, head);
  const tile = windowAddresses(4, '$y', '$oh', '$ow', locals);
  const b = new Block('t', locals);
  const y = block(b);
  const store = (i: number, j: number) =>
    `(v128.store (i32.add (local.get $a${i}_${j}) (local.get $coff)) ${get(y[i][j])})`;
  const fullStores = range(4).flatMap((i) => range(4).map((j) => store(i, j)));
  const edgeStores = range(4).flatMap((i) =>
    range(4).map((j) => `(if (local.get $ok${i}_${j}) (then ${store(i, j)}))`),
  );
  return `
  (func (export "${name}") (param $mt i32) (param $y i32) (param $n i32) (param $oh i32) (param $ow i32)
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
 * output_transform(mTable, y, n, outH, outW, c, tilesH, tilesW): y[img, ty*4 + i, tx*4 + j, c] =
 * (A^T m A)_ij of the 36 values M_k[t, c], for the positions inside the output. M_k: [tiles, c];
 * y: [n, outH, outW, c]. c must be a multiple of 4.
 */
export function outputTransform(): string {
  return outputTileFunction('output_transform', (b) =>
    twoPass(
      b,
      range(6).map((i) =>
        range(6).map((j) =>
          b.set(
            `(v128.load (i32.add (local.get $mb${i * 6 + j}) (i32.add (local.get $tileOff) (local.get $coff))))`,
          ),
        ),
      ),
      outputRows,
    ),
  );
}

/**
 * A function over every block of 4 output channels of a [ci, co] filter plane (params $ci, $co): $off
 * runs over the plane's bytes in steps of 16 and $tapBytes is one tap plane's size (ci * co * 4).
 */
export function filterLoop(
  name: string,
  params: string,
  locals: string[],
  head: string[],
  body: string[],
): string {
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
export function filterTransform(): string {
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

/**
 * dy_transform(dy, eTable, n, outH, outW, c, tilesH, tilesW): E_k[t, c] = (A e A^T)_k of the 4x4 dy tile
 * at (tileRow*4, tileCol*4), zero outside dy. dy: [n, outH, outW, c]; E_k: [tiles, c].
 */
export function dyTransform(): string {
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
export function filterGradTransform(): string {
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
