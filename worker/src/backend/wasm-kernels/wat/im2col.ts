/**
 * WebAssembly text of the patch-matrix kernels behind ../im2col-conv.ts: `im2col` writes the kh x kw input
 * window of every output position as one row, `col2im` sums such rows back into an input-shaped tensor.
 * With them a strided convolution and both its gradients become single matrix products (wat/gemm.ts).
 * Channels move 4 per v128; c must be a multiple of 4.
 *
 * Shared parameters: n, h, w, c (the NHWC input), outH, outW (the output), kh, kw (the filter), s (the
 * stride, both axes), pt, pl (padding above and left). Patch rows are row-major over (img, oy, ox); a row
 * holds the taps (i, j) row-major, c channels each: [n * outH * outW, kh * kw * c], i.e. the filter's
 * [kh, kw, c, co] layout read as [kh * kw * c, co].
 */

/** Loop `$v` over [0, `$end`), running `body`. */
function loop(v: string, end: string, body: string[]): string {
  return `
    (local.set ${v} (i32.const 0))
    (block $done${v.slice(1)} (loop $each${v.slice(1)}
      (br_if $done${v.slice(1)} (i32.ge_u (local.get ${v}) (local.get ${end})))
      ${body.join('\n      ')}
      (local.set ${v} (i32.add (local.get ${v}) (i32.const 1)))
      (br $each${v.slice(1)})))`;
}

/** Loop `$q` over the bytes of c channels, 16 at a time, running `body`. */
const eachVector = (body: string[]) => `
      (local.set $q (i32.const 0))
      (block $doneQ (loop $eachQ
        (br_if $doneQ (i32.ge_u (local.get $q) (local.get $cb)))
        ${body.join('\n        ')}
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (br $eachQ)))`;

const PARAMS = `(param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
      (param $kh i32) (param $kw i32) (param $s i32) (param $pt i32) (param $pl i32)`;

/**
 * im2col(x, cols, n, h, w, c, outH, outW, kh, kw, s, pt, pl):
 * cols[(img, oy, ox), (i, j, ch)] = x[img, oy*s + i - pt, ox*s + j - pl, ch], zero outside the input.
 */
export function im2col(): string {
  return `
  (func (export "im2col") (param $x i32) (param $cols i32) ${PARAMS}
    (local $img i32) (local $oy i32) (local $ox i32) (local $i i32) (local $j i32) (local $y i32) (local $xx i32)
    (local $q i32) (local $cb i32) (local $dst i32) (local $src i32) (local $inside i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $dst (local.get $cols))
    ${loop('$img', '$n', [
      loop('$oy', '$oh', [
        loop('$ox', '$ow', [
          loop('$i', '$kh', [
            '(local.set $y (i32.sub (i32.add (i32.mul (local.get $oy) (local.get $s)) (local.get $i)) (local.get $pt)))',
            loop('$j', '$kw', [
              '(local.set $xx (i32.sub (i32.add (i32.mul (local.get $ox) (local.get $s)) (local.get $j)) (local.get $pl)))',
              // Unsigned compares reject negative coordinates too.
              '(local.set $inside (i32.and (i32.lt_u (local.get $y) (local.get $h)) (i32.lt_u (local.get $xx) (local.get $w))))',
              `(if (local.get $inside)
                (then
                  (local.set $src (i32.add (local.get $x) (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $img) (local.get $h)) (local.get $y)) (local.get $w)) (local.get $xx)) (local.get $cb))))
                  ${eachVector(['(v128.store (i32.add (local.get $dst) (local.get $q)) (v128.load (i32.add (local.get $src) (local.get $q))))'])})
                (else
                  ${eachVector(['(v128.store (i32.add (local.get $dst) (local.get $q)) (v128.const i32x4 0 0 0 0))'])}))`,
              '(local.set $dst (i32.add (local.get $dst) (local.get $cb)))',
            ]),
          ]),
        ]),
      ]),
    ])}
  )`;
}

/**
 * col2im(cols, dx, n, h, w, c, outH, outW, kh, kw, s, pt, pl), the adjoint of im2col:
 * dx[img, y, x, ch] = sum over the taps (i, j) with oy = (y + pt - i) / s and ox = (x + pl - j) / s whole
 * and inside the output of cols[(img, oy, ox), (i, j, ch)]. Every element of dx is written (gathered, so no
 * zero fill and no scattered read-modify-write); sums run in tap order.
 */
export function col2im(): string {
  return `
  (func (export "col2im") (param $cols i32) (param $dx i32) ${PARAMS}
    (local $img i32) (local $y i32) (local $xx i32) (local $i i32) (local $j i32) (local $ty i32) (local $tx i32)
    (local $q i32) (local $cb i32) (local $dst i32) (local $src i32) (local $rowBytes i32) (local $tapBytes i32)
    (local $rowY i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $tapBytes (local.get $cb))
    (local.set $rowBytes (i32.mul (i32.mul (local.get $kh) (local.get $kw)) (local.get $cb)))
    (local.set $dst (local.get $dx))
    ${loop('$img', '$n', [
      loop('$y', '$h', [
        loop('$xx', '$w', [
          eachVector(['(v128.store (i32.add (local.get $dst) (local.get $q)) (v128.const i32x4 0 0 0 0))']),
          loop('$i', '$kh', [
            '(local.set $ty (i32.sub (i32.add (local.get $y) (local.get $pt)) (local.get $i)))',
            `(if (i32.and (i32.ge_s (local.get $ty) (i32.const 0))
                  (i32.and (i32.eqz (i32.rem_u (local.get $ty) (local.get $s)))
                           (i32.lt_u (i32.div_u (local.get $ty) (local.get $s)) (local.get $oh))))
              (then
                (local.set $rowY (i32.mul (i32.add (i32.mul (local.get $img) (local.get $oh)) (i32.div_u (local.get $ty) (local.get $s))) (local.get $ow)))
                ${loop('$j', '$kw', [
                  '(local.set $tx (i32.sub (i32.add (local.get $xx) (local.get $pl)) (local.get $j)))',
                  `(if (i32.and (i32.ge_s (local.get $tx) (i32.const 0))
                        (i32.and (i32.eqz (i32.rem_u (local.get $tx) (local.get $s)))
                                 (i32.lt_u (i32.div_u (local.get $tx) (local.get $s)) (local.get $ow))))
                    (then
                      (local.set $src (i32.add (local.get $cols)
                        (i32.add (i32.mul (i32.add (local.get $rowY) (i32.div_u (local.get $tx) (local.get $s))) (local.get $rowBytes))
                                 (i32.mul (i32.add (i32.mul (local.get $i) (local.get $kw)) (local.get $j)) (local.get $tapBytes)))))
                      ${eachVector(['(v128.store (i32.add (local.get $dst) (local.get $q)) (f32x4.add (v128.load (i32.add (local.get $dst) (local.get $q))) (v128.load (i32.add (local.get $src) (local.get $q)))))'])}))`,
                ])}))`,
          ]),
          '(local.set $dst (i32.add (local.get $dst) (local.get $cb)))',
        ]),
      ]),
    ])}
  )`;
}
