;; The bfloat16 conversions of the gradient all-reduce (bf16.ts) in WebAssembly SIMD, bit-identical to the
;; JavaScript loops there: float32 -> bfloat16 rounds to nearest, ties to even, NaN stays a quiet NaN;
;; bfloat16 -> float32 is exact; sums and the mean's scale round as `Math.fround(d + s) * scale` stored
;; into a Float32Array does. Pointers are byte offsets into memory. Built into bf16-wasm.ts by
;; `npm run build:wasm` (scripts/build-wasm.ts); bf16.test.ts checks the embedded bytes match this source.
(module
  (memory (export "memory") 1)

  ;; Four float32 bit patterns -> their bfloat16 bits, in the low half of each lane.
  (func $round4 (param $x v128) (result v128)
    (v128.bitselect
      (v128.or (i32x4.shr_u (local.get $x) (i32.const 16)) (v128.const i32x4 0x40 0x40 0x40 0x40))
      (i32x4.shr_u
        (i32x4.add
          (i32x4.add (local.get $x) (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff))
          (v128.and (i32x4.shr_u (local.get $x) (i32.const 16)) (v128.const i32x4 1 1 1 1)))
        (i32.const 16))
      (i32x4.gt_u
        (v128.and (local.get $x) (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))
        (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))))

  (func $round1 (param $x i32) (result i32)
    (if (result i32)
      (i32.gt_u (i32.and (local.get $x) (i32.const 0x7fffffff)) (i32.const 0x7f800000))
      (then (i32.or (i32.shr_u (local.get $x) (i32.const 16)) (i32.const 0x40)))
      (else
        (i32.shr_u
          (i32.add
            (i32.add (local.get $x) (i32.const 0x7fff))
            (i32.and (i32.shr_u (local.get $x) (i32.const 16)) (i32.const 1)))
          (i32.const 16)))))

  ;; dst[i] = bfloat16(src[i]): src float32, dst uint16.
  (func (export "to_bf16") (param $src i32) (param $dst i32) (param $n i32)
    (local $end i32)
    (local $end8 i32)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end8 (i32.add (local.get $src) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (block $done8
      (loop $l8
        (br_if $done8 (i32.ge_u (local.get $src) (local.get $end8)))
        (v128.store (local.get $dst)
          (i16x8.narrow_i32x4_u
            (call $round4 (v128.load offset=0 (local.get $src)))
            (call $round4 (v128.load offset=16 (local.get $src)))))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $l8)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (i32.store16 (local.get $dst) (call $round1 (i32.load (local.get $src))))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 2)))
        (br $l))))

  ;; dst[i] = float32(src[i]) when $add is 0, dst[i] += float32(src[i]) otherwise; src uint16.
  (func (export "widen") (param $dst i32) (param $src i32) (param $n i32) (param $add i32)
    (local $end i32)
    (local $end8 i32)
    (local $v v128)
    (local $lo v128)
    (local $hi v128)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end8 (i32.add (local.get $dst) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (block $done8
      (loop $l8
        (br_if $done8 (i32.ge_u (local.get $dst) (local.get $end8)))
        (local.set $v (v128.load (local.get $src)))
        (local.set $lo (i32x4.shl (i32x4.extend_low_i16x8_u (local.get $v)) (i32.const 16)))
        (local.set $hi (i32x4.shl (i32x4.extend_high_i16x8_u (local.get $v)) (i32.const 16)))
        (if (local.get $add)
          (then
            (local.set $lo (f32x4.add (v128.load offset=0 (local.get $dst)) (local.get $lo)))
            (local.set $hi (f32x4.add (v128.load offset=16 (local.get $dst)) (local.get $hi)))))
        (v128.store offset=0 (local.get $dst) (local.get $lo))
        (v128.store offset=16 (local.get $dst) (local.get $hi))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (br $l8)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (if (local.get $add)
          (then
            (f32.store (local.get $dst)
              (f32.add
                (f32.load (local.get $dst))
                (f32.reinterpret_i32 (i32.shl (i32.load16_u (local.get $src)) (i32.const 16))))))
          (else
            (i32.store (local.get $dst) (i32.shl (i32.load16_u (local.get $src)) (i32.const 16)))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $src (i32.add (local.get $src) (i32.const 2)))
        (br $l))))

  ;; p[i] = float32(bfloat16(p[i])) in place.
  (func (export "round_in_place") (param $p i32) (param $n i32)
    (local $end i32)
    (local $end4 i32)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end4 (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done4
      (loop $l4
        (br_if $done4 (i32.ge_u (local.get $p) (local.get $end4)))
        (v128.store (local.get $p) (i32x4.shl (call $round4 (v128.load (local.get $p))) (i32.const 16)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $l4)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (i32.store (local.get $p) (i32.shl (call $round1 (i32.load (local.get $p))) (i32.const 16)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $l))))
)
