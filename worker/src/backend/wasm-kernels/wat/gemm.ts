/**
 * WebAssembly text of small matrix-product kernels for the Winograd layers (36 products per layer, a few
 * million multiply-adds each). Blocks of 4 x 8 outputs stay in eight v128 accumulators while s walks both
 * operands; there is no packing step, which is what XNNPACK's per-call cost is made of at these sizes.
 */
import { range } from './block.ts';

/**
 * s runs in chunks of CHUNK: each chunk's slices of a and b are walked for every output block while they
 * are in cache (a [4096, 576] x [576, 128] product would otherwise stream all of b from memory once per
 * four output rows), and the blocks carry their sums in z from one chunk to the next. The sums still
 * run in s order in float32, so the result does not depend on CHUNK.
 */
const CHUNK = 128;

/**
 * z = op(a) b for row-major float32 matrices, 4 x 8 output blocks in eight v128 accumulators:
 * - `transposedA`: outer_sums(a, b, z, t, m, n, accumulate), a: [t, m], z[i, j] = sum_s a[s, i] b[s, j];
 * - otherwise: matmul(a, b, z, t, m, n, accumulate), a: [m, t], z[i, j] = sum_s a[i, s] b[s, j];
 * with accumulate != 0 the sums start from z's values instead of zero.
 * b: [t, n], z: [m, n]; m a multiple of 4, n a multiple of 8. The sums run in s order, in float32.
 */
function gemm(transposedA: boolean): string {
  const acc = (r: number, h: number) => `$acc${r}_${h}`;
  const locals = range(4).flatMap((r) => [0, 1].map((h) => `(local ${acc(r, h)} v128)`));
  const zero = range(4).flatMap((r) => [0, 1].map((h) => `(local.set ${acc(r, h)} (v128.const i64x2 0 0))`));
  // A later chunk of s continues the sums the previous chunks stored in z (so does the first with
  // `accumulate`: z += op(a) b).
  const resume = range(4).flatMap((r) =>
    [0, 1].map(
      (h) =>
        `(local.set ${acc(r, h)} (v128.load offset=${16 * h} (i32.add (local.get $pz) (i32.mul (i32.const ${r}) (local.get $nBytes)))))`,
    ),
  );
  // Row r's multiplier for this s, broadcast by the load (splatting lanes of one load with shuffles ran
  // at ~20 GMAC/s, the loads at ~26): a[s, i + r] (4 bytes apart), or a[i + r, s] (rows $tBytes apart).
  const multiplier = (r: number) =>
    transposedA
      ? `(v128.load32_splat offset=${4 * r} (local.get $pa))`
      : `(v128.load32_splat (i32.add (local.get $pa) (i32.mul (i32.const ${r}) (local.get $tBytes))))`;
  const step = [
    '(local.set $b0 (v128.load (local.get $pb)))',
    '(local.set $b1 (v128.load offset=16 (local.get $pb)))',
    ...range(4).flatMap((r) => [
      `(local.set $s ${multiplier(r)})`,
      ...[0, 1].map(
        (h) =>
          `(local.set ${acc(r, h)} (f32x4.add (local.get ${acc(r, h)}) (f32x4.mul (local.get $s) (local.get $b${h}))))`,
      ),
    ]),
  ];
  const stores = range(4).flatMap((r) =>
    [0, 1].map(
      (h) =>
        `(v128.store offset=${16 * h} (i32.add (local.get $pz) (i32.mul (i32.const ${r}) (local.get $nBytes))) (local.get ${acc(r, h)}))`,
    ),
  );
  // a's start for output rows i.. (i in bytes of a row of z's column count 4): transposed a[0, i], else a[i, 0].
  // Both start at s = $k0.
  const aStart = transposedA
    ? '(i32.add (i32.add (local.get $a) (local.get $i)) (i32.mul (local.get $k0) (local.get $mBytes)))'
    : '(i32.add (i32.add (local.get $a) (i32.mul (i32.shr_u (local.get $i) (i32.const 2)) (local.get $tBytes))) (i32.shl (local.get $k0) (i32.const 2)))';
  const aStep = transposedA ? '(local.get $mBytes)' : '(i32.const 4)';
  return `
  (func (export "${transposedA ? 'outer_sums' : 'matmul'}") (param $a i32) (param $b i32) (param $z i32) (param $t i32) (param $m i32) (param $n i32) (param $accumulate i32)
    (local $i i32) (local $j i32) (local $pa i32) (local $pb i32) (local $pz i32) (local $s2 i32) (local $k0 i32) (local $kc i32)
    (local $mBytes i32) (local $nBytes i32) (local $tBytes i32) (local $b0 v128) (local $b1 v128) (local $s v128)
    ${locals.join(' ')}
    (local.set $mBytes (i32.shl (local.get $m) (i32.const 2)))
    (local.set $nBytes (i32.shl (local.get $n) (i32.const 2)))
    (local.set $tBytes (i32.shl (local.get $t) (i32.const 2)))
    (local.set $k0 (i32.const 0))
    (block $doneK (loop $eachK
      (br_if $doneK (i32.ge_u (local.get $k0) (local.get $t)))
      (local.set $kc (select (i32.const ${CHUNK}) (i32.sub (local.get $t) (local.get $k0))
        (i32.lt_u (i32.const ${CHUNK}) (i32.sub (local.get $t) (local.get $k0)))))
      (local.set $i (i32.const 0))
      (block $doneI (loop $eachI
        (br_if $doneI (i32.ge_u (local.get $i) (local.get $mBytes)))
        (local.set $j (i32.const 0))
        (block $doneJ (loop $eachJ
          (br_if $doneJ (i32.ge_u (local.get $j) (local.get $nBytes)))
          (local.set $pz (i32.add (local.get $z) (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j))))
          (if (i32.and (i32.eqz (local.get $k0)) (i32.eqz (local.get $accumulate)))
            (then ${zero.join(' ')}) (else ${resume.join(' ')}))
          (local.set $pa ${aStart})
          (local.set $pb (i32.add (i32.add (local.get $b) (local.get $j)) (i32.mul (local.get $k0) (local.get $nBytes))))
          (local.set $s2 (local.get $kc))
          (block $doneS (loop $eachS
            (br_if $doneS (i32.eqz (local.get $s2)))
            ${step.join('\n            ')}
            (local.set $pa (i32.add (local.get $pa) ${aStep}))
            (local.set $pb (i32.add (local.get $pb) (local.get $nBytes)))
            (local.set $s2 (i32.sub (local.get $s2) (i32.const 1)))
            (br $eachS)))
          ${stores.join('\n          ')}
          (local.set $j (i32.add (local.get $j) (i32.const 32)))
          (br $eachJ)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $eachI)))
      (local.set $k0 (i32.add (local.get $k0) (local.get $kc)))
      (br $eachK)))
  )`;
}

/** outer_sums: the Winograd filter gradient's products Z = V^T E (V, E: [tiles, channels]). */
export const outerSums = () => gemm(true);

/** matmul: the Winograd forward products M = V U (V: [tiles, Ci], U: [Ci, Co]). */
export const matmul = () => gemm(false);
