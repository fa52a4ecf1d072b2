;; The element-wise reductions of the ring all-reduce (ring-collective.ts) in WebAssembly SIMD: 4 float32
;; lanes per instruction, the same IEEE float32 rounding as the JavaScript loops they replace (each add and
;; each multiply rounds to float32), so results are bit-identical. Built into simd-reduce-wasm.ts by
;; `npm run build:wasm` (wabt, scripts/build-wasm.ts); simd-reduce.test.ts checks the embedded bytes match this source.
(module
  (memory (export "memory") 1)

  ;; dst[i] += src[i] for i < n; dst and src are byte offsets into memory.
  (func (export "add") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32)
    (local $end16 i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end16 (i32.add (local.get $dst) (i32.shl (i32.and (local.get $n) (i32.const -16)) (i32.const 2))))
    (block $done16
      (loop $l16
        (br_if $done16 (i32.ge_u (local.get $dst) (local.get $end16)))
        (v128.store offset=0 (local.get $dst)
          (f32x4.add (v128.load offset=0 (local.get $dst)) (v128.load offset=0 (local.get $src))))
        (v128.store offset=16 (local.get $dst)
          (f32x4.add (v128.load offset=16 (local.get $dst)) (v128.load offset=16 (local.get $src))))
        (v128.store offset=32 (local.get $dst)
          (f32x4.add (v128.load offset=32 (local.get $dst)) (v128.load offset=32 (local.get $src))))
        (v128.store offset=48 (local.get $dst)
          (f32x4.add (v128.load offset=48 (local.get $dst)) (v128.load offset=48 (local.get $src))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
        (local.set $src (i32.add (local.get $src) (i32.const 64)))
        (br $l16)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst) (f32.add (f32.load (local.get $dst)) (f32.load (local.get $src))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (br $l))))

;; dst[i] = (dst[i] + src[i]) * scale for i < n: the sum rounded to float32, multiplied by the float64
  ;; scale in float64 and rounded to float32, exactly as `Math.fround(d + s) * scale` stored into a
  ;; Float32Array does (scale need not be a float32: 1/3 for three ranks).
  (func $mul4 (param $v v128) (param $s v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (local.get $v)) (local.get $s)))
      (f32x4.demote_f64x2_zero
        (f64x2.mul
          (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))
          (local.get $s)))))

  (func (export "add_scale") (param $dst i32) (param $src i32) (param $n i32) (param $scale f64)
    (local $end i32)
    (local $end8 i32)
    (local $s v128)
    (local.set $s (f64x2.splat (local.get $scale)))
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end8 (i32.add (local.get $dst) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (block $done8
      (loop $l8
        (br_if $done8 (i32.ge_u (local.get $dst) (local.get $end8)))
        (v128.store offset=0 (local.get $dst)
          (call $mul4 (f32x4.add (v128.load offset=0 (local.get $dst)) (v128.load offset=0 (local.get $src))) (local.get $s)))
        (v128.store offset=16 (local.get $dst)
          (call $mul4 (f32x4.add (v128.load offset=16 (local.get $dst)) (v128.load offset=16 (local.get $src))) (local.get $s)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (br $l8)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst)
          (f32.demote_f64
            (f64.mul
              (f64.promote_f32 (f32.add (f32.load (local.get $dst)) (f32.load (local.get $src))))
              (local.get $scale))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (br $l))))
  ;; The same for a power-of-two scale (1/2, 1/4, ...), which scales a float32 exactly: the product
  ;; rounds the same in float32 as in float64, so the multiply can stay in float32 lanes (twice as fast).
  (func (export "add_scale_pow2") (param $dst i32) (param $src i32) (param $n i32) (param $scale f32)
    (local $end i32)
    (local $end16 i32)
    (local $s v128)
    (local.set $s (f32x4.splat (local.get $scale)))
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end16 (i32.add (local.get $dst) (i32.shl (i32.and (local.get $n) (i32.const -16)) (i32.const 2))))
    (block $done16
      (loop $l16
        (br_if $done16 (i32.ge_u (local.get $dst) (local.get $end16)))
        (v128.store offset=0 (local.get $dst)
          (f32x4.mul (f32x4.add (v128.load offset=0 (local.get $dst)) (v128.load offset=0 (local.get $src))) (local.get $s)))
        (v128.store offset=16 (local.get $dst)
          (f32x4.mul (f32x4.add (v128.load offset=16 (local.get $dst)) (v128.load offset=16 (local.get $src))) (local.get $s)))
        (v128.store offset=32 (local.get $dst)
          (f32x4.mul (f32x4.add (v128.load offset=32 (local.get $dst)) (v128.load offset=32 (local.get $src))) (local.get $s)))
        (v128.store offset=48 (local.get $dst)
          (f32x4.mul (f32x4.add (v128.load offset=48 (local.get $dst)) (v128.load offset=48 (local.get $src))) (local.get $s)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
        (local.set $src (i32.add (local.get $src) (i32.const 64)))
        (br $l16)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst)
          (f32.mul (f32.add (f32.load (local.get $dst)) (f32.load (local.get $src))) (local.get $scale)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (br $l))))
)
