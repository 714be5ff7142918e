;; Relaxed-SIMD kernels, appended to matmul.wat to form the "matmul-relaxed" module (assemble.mjs). Only used
;; when the caller asks for them (GLASSBOX_RELAXED_SIMD=1 / relaxedSimd) and kernels/wasm/relaxed.ts's
;; known-answer self-test passes: on Node 20 relaxed SIMD sits behind --experimental-wasm-relaxed-simd, and
;; V8 11.3 on this AMD machine returns i32x4.relaxed_dot_i8x16_i7x16_add_s wrong (twice the dot product, the
;; accumulator dropped), so that instruction is not used. i16x8.relaxed_dot_i8x16_i7x16_s (x86 pmaddubsw:
;; 16 products, pairwise sums into 8 i16 lanes, one op) is exact for our operands: a signed int8 activation times
;; a weight nibble in [0, 15] (a valid i7), pair sums |.| <= 2 * 127 * 15 = 3810, no saturation.

  ;; Known-answer probe: out[8] i16 = relaxed_dot(a[16] i8, b[16] i7) (kernels/wasm/relaxed.ts checks it).
  (func (export "relaxed_probe") (param $a i32) (param $b i32) (param $out i32)
    (v128.store (local.get $out) (i16x8.relaxed_dot_i8x16_i7x16_s (v128.load (local.get $a)) (v128.load (local.get $b)))))

  ;; int4 decode, 8-bit activations. w [Np/4][kp/32][4 rows][16 bytes]: byte i of a row's chunk holds weight i
  ;; (low nibble) and 16 + i (high nibble); s, z [Np/4][nG][4]; xq [kp] i8, sx [kp/bs] f32, xsum [kp/bs] i32;
  ;; y [Np]. Per row and 32 weights: and, shift, and, 2 relaxed dots, 2 i16 adds (7 ops; i4d_mv: 15). Lanes sum
  ;; <= 4 * 3810 per 128 weights (bs <= 128, dot-quant.ts), then widen once per block (extadd_pairwise). The
  ;; integer I = Σ q xq - z Σ xq and the f32 sequence after it are i4d_mv's, so the reference is the same.
  (func (export "i4q_mv")
    (param $w i32) (param $s i32) (param $z i32) (param $xq i32) (param $sx i32) (param $xsum i32) (param $y i32)
    (param $ng i32) (param $nbg i32) (param $bs i32)
    (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $n i32) (local $wp i32) (local $sp i32) (local $zp i32) (local $xp i32) (local $xs i32) (local $xt i32)
    (local $be i32) (local $g i32) (local $b i32)
    (local $m v128) (local $xa v128) (local $xb v128) (local $v v128) (local $z4 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $acc v128) (local $tot v128)
    (if (i32.ge_u (local.get $n0) (local.get $n1)) (then (return)))
    (local.set $m (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (local.set $n (local.get $n0))
    (local.set $wp (i32.add (local.get $w) (i32.mul (local.get $n0) (i32.shr_u (i32.mul (i32.mul (local.get $ng) (local.get $nbg)) (local.get $bs)) (i32.const 1)))))
    (local.set $sp (i32.add (local.get $s) (i32.shl (i32.mul (local.get $n0) (local.get $ng)) (i32.const 2))))
    (local.set $zp (i32.add (local.get $z) (i32.mul (local.get $n0) (local.get $ng))))
    (loop $quads
      (local.set $xp (local.get $xq))
      (local.set $xs (local.get $sx))
      (local.set $xt (local.get $xsum))
      (local.set $tot (v128.const i32x4 0 0 0 0))
      (local.set $g (local.get $ng))
      (loop $groups
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $z4 (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $zp)))))
        (local.set $b (local.get $nbg))
        (loop $blocks
          (local.set $a0 (v128.const i32x4 0 0 0 0))
          (local.set $a1 (v128.const i32x4 0 0 0 0))
          (local.set $a2 (v128.const i32x4 0 0 0 0))
          (local.set $a3 (v128.const i32x4 0 0 0 0))
          (local.set $be (i32.add (local.get $wp) (i32.shl (local.get $bs) (i32.const 1))))
          (loop $k
            (local.set $xa (v128.load (local.get $xp)))
            (local.set $xb (v128.load offset=16 (local.get $xp)))
            (local.set $v (v128.load (local.get $wp)))
            (local.set $a0 (i16x8.add (local.get $a0) (i16x8.add
              (i16x8.relaxed_dot_i8x16_i7x16_s (local.get $xa) (v128.and (local.get $v) (local.get $m)))
              (i16x8.relaxed_dot_i8x16_i7x16_s (local.get $xb) (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m))))))
            (local.set $v (v128.load offset=16 (local.get $wp)))
            (local.set $a1 (i16x8.add (local.get $a1) (i16x8.add
              (i16x8.relaxed_dot_i8x16_i7x16_s (local.get $xa) (v128.and (local.get $v) (local.get $m)))
              (i16x8.relaxed_dot_i8x16_i7x16_s (local.get $xb) (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m))))))
            (local.set $v (v128.load offset=32 (local.get $wp)))
            (local.set $a2 (i16x8.add (local.get $a2) (i16x8.add
              (i16x8.relaxed_dot_i8x16_i7x16_s (local.get $xa) (v128.and (local.get $v) (local.get $m)))
              (i16x8.relaxed_dot_i8x16_i7x16_s (local.get $xb) (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m))))))
            (local.set $v (v128.load offset=48 (local.get $wp)))
            (local.set $a3 (i16x8.add (local.get $a3) (i16x8.add
              (i16x8.relaxed_dot_i8x16_i7x16_s (local.get $xa) (v128.and (local.get $v) (local.get $m)))
              (i16x8.relaxed_dot_i8x16_i7x16_s (local.get $xb) (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m))))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 64)))
            (local.set $xp (i32.add (local.get $xp) (i32.const 32)))
            (br_if $k (i32.lt_u (local.get $wp) (local.get $be))))
          (local.set $acc (f32x4.add (local.get $acc)
            (f32x4.mul (f32x4.convert_i32x4_s
                         (i32x4.sub (call $tsum (i32x4.extadd_pairwise_i16x8_s (local.get $a0)) (i32x4.extadd_pairwise_i16x8_s (local.get $a1))
                                                (i32x4.extadd_pairwise_i16x8_s (local.get $a2)) (i32x4.extadd_pairwise_i16x8_s (local.get $a3)))
                                    (i32x4.mul (local.get $z4) (v128.load32_splat (local.get $xt)))))
                       (v128.load32_splat (local.get $xs)))))
          (local.set $xs (i32.add (local.get $xs) (i32.const 4)))
          (local.set $xt (i32.add (local.get $xt) (i32.const 4)))
          (local.set $b (i32.sub (local.get $b) (i32.const 1)))
          (br_if $blocks (local.get $b)))
        (local.set $tot (f32x4.add (local.get $tot) (f32x4.mul (local.get $acc) (v128.load (local.get $sp)))))
        (local.set $sp (i32.add (local.get $sp) (i32.const 16)))
        (local.set $zp (i32.add (local.get $zp) (i32.const 4)))
        (local.set $g (i32.sub (local.get $g) (i32.const 1)))
        (br_if $groups (local.get $g)))
      (v128.store (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))) (local.get $tot))
      (local.set $n (i32.add (local.get $n) (i32.const 4)))
      (br_if $quads (i32.lt_u (local.get $n) (local.get $n1)))))
