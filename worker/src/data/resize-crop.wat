;; The two passes of resizeCrop (augment-ops.ts: PIL's separable bilinear) in WebAssembly SIMD. Addresses
;; are byte offsets into the module's memory. Taps: output o reads counts[o] inputs from starts[o] with
;; weights[o * maxTaps + t] (i32, i32, f32 arrays).
(module
  (memory (export "memory") 1)

  ;; Horizontal pass, RGB uint8 rows -> float rows of `out` pixels. Each pixel is widened to one f32x4
  ;; (lane 3 is the next pixel's R, ignored; the 4-lane store is overwritten by the next pixel, so the
  ;; regions need 16 spare bytes after them, and the source 4 spare bytes after its last row).
  (func (export "resize_h3") (param $src i32) (param $srcRow i32) (param $rows i32) (param $dst i32)
        (param $out i32) (param $starts i32) (param $counts i32) (param $weights i32) (param $maxTaps i32)
    (local $r i32) (local $o i32) (local $t i32) (local $n i32) (local $p i32) (local $wp i32) (local $d i32)
    (local $acc v128)
    (local.set $r (i32.const 0))
    (local.set $d (local.get $dst))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_s (local.get $r) (local.get $rows)))
      (local.set $o (i32.const 0))
      (block $odone (loop $oloop
        (br_if $odone (i32.ge_s (local.get $o) (local.get $out)))
        (local.set $n (i32.load (i32.add (local.get $counts) (i32.shl (local.get $o) (i32.const 2)))))
        (local.set $p (i32.add (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $srcRow)))
          (i32.mul (i32.load (i32.add (local.get $starts) (i32.shl (local.get $o) (i32.const 2)))) (i32.const 3))))
        (local.set $wp (i32.add (local.get $weights) (i32.shl (i32.mul (local.get $o) (local.get $maxTaps)) (i32.const 2))))
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $t (i32.const 0))
        (block $tdone (loop $tloop
          (br_if $tdone (i32.ge_s (local.get $t) (local.get $n)))
          (local.set $acc (f32x4.add (local.get $acc)
            (f32x4.mul (f32x4.splat (f32.load (local.get $wp)))
              (f32x4.convert_i32x4_u (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u
                (v128.load32_zero (local.get $p))))))))
          (local.set $p (i32.add (local.get $p) (i32.const 3)))
          (local.set $wp (i32.add (local.get $wp) (i32.const 4)))
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br $tloop)))
        (v128.store (local.get $d) (local.get $acc))
        (local.set $d (i32.add (local.get $d) (i32.const 12)))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $oloop)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop))))

  ;; Vertical pass: output row o = sum_t weights[o, t] * row (starts[o] - first + t) of src, rows of
  ;; `row` floats (a multiple of 4).
  (func (export "resize_v") (param $src i32) (param $dst i32) (param $out i32) (param $row i32) (param $first i32)
        (param $starts i32) (param $counts i32) (param $weights i32) (param $maxTaps i32)
    (local $o i32) (local $i i32) (local $t i32) (local $n i32) (local $rb i32) (local $s0 i32) (local $wp i32)
    (local $d i32) (local $p i32) (local $acc v128)
    (local.set $rb (i32.shl (local.get $row) (i32.const 2)))
    (local.set $o (i32.const 0))
    (block $odone (loop $oloop
      (br_if $odone (i32.ge_s (local.get $o) (local.get $out)))
      (local.set $n (i32.load (i32.add (local.get $counts) (i32.shl (local.get $o) (i32.const 2)))))
      (local.set $s0 (i32.add (local.get $src) (i32.mul (local.get $rb)
        (i32.sub (i32.load (i32.add (local.get $starts) (i32.shl (local.get $o) (i32.const 2)))) (local.get $first)))))
      (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $o) (local.get $rb))))
      (local.set $i (i32.const 0))
      (block $idone (loop $iloop
        (br_if $idone (i32.ge_s (local.get $i) (local.get $rb)))
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $wp (i32.add (local.get $weights) (i32.shl (i32.mul (local.get $o) (local.get $maxTaps)) (i32.const 2))))
        (local.set $p (i32.add (local.get $s0) (local.get $i)))
        (local.set $t (i32.const 0))
        (block $tdone (loop $tloop
          (br_if $tdone (i32.ge_s (local.get $t) (local.get $n)))
          (local.set $acc (f32x4.add (local.get $acc)
            (f32x4.mul (f32x4.splat (f32.load (local.get $wp))) (v128.load (local.get $p)))))
          (local.set $p (i32.add (local.get $p) (local.get $rb)))
          (local.set $wp (i32.add (local.get $wp) (i32.const 4)))
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br $tloop)))
        (v128.store (i32.add (local.get $d) (local.get $i)) (local.get $acc))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $iloop)))
      (local.set $o (i32.add (local.get $o) (i32.const 1)))
      (br $oloop))))
)
