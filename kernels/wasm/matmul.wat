;; Glassbox CPU hot path: y[T, N] = x[T, K] · Wᵀ for f32, int8 and int4 weights, WebAssembly SIMD (128-bit).
;;
;; Layouts (written once by kernels/wasm/pack.ts, see kernels/README.md):
;;  - Every row is a sequence of nG groups, each padded with zero weights to Gp elements (Gp a multiple of
;;    16 for f32 / int8, of 32 for int4); x is gathered (perm) and padded the same way per call, so no kernel
;;    has a tail loop. f32 is one group of Gp = roundup(K, 16).
;;  - int8: Gp bytes per group. int4: Gp/2 bytes per group in blocks of 16 bytes; byte b of a block holds
;;    weight k0+b in its low nibble and k0+16+b in its high nibble (so one and / one shift yields 16
;;    consecutive weights each). Scales: f32 [N * nG]. Zero points: u8 [N * nG] (symmetric: the byte 8
;;    kept at address 0 of every memory, read with stride 0; the prefill kernels take pointer 0 = 8).
;;  - Integer weights are widened with one constant i8x16.swizzle per 4 weights: byte 4l + j of the
;;    16-byte vector goes to the top byte of lane l, zeros below (swizzle indices >= 16 give 0), so the
;;    lane is q * 2^24 as an i32 and f32x4.convert_i32x4_s makes it exactly f32(q) * 2^24; the 2^-24 is
;;    folded into the group scale (exact: powers of two). V8 emits a single pshufb for a constant
;;    swizzle: 25% faster than two shifts per 4 weights, which were 12% faster than the i8 -> i16 -> i32
;;    extend chain. Lane l thus holds weight 4l + j; x is gathered with each 16-element block
;;    transposed to match (pack.ts lanePosition).
;;
;; Numerics: baseline wasm SIMD has no FMA, so every product is f32x4.mul then f32x4.add. x stays f32.
;;  - Decode kernels (*_mv, T = 1) multiply integer weights (widened exactly to f32) by x, sum a
;;    group per row in one f32x4 accumulator (four rows at a time share the x loads), then add
;;    group_sum * scale to the row total (f32 rows: four accumulators over 16-float steps).
;;  - Prefill kernels (*_mm, T > 1): see the prefill section (2 x 4 register tiles over token quads).
;; Every row is computed by one thread with a fixed operation order, so results do not depend on the
;; number of threads. All pointers are byte offsets; comparisons are unsigned (memories up to 4 GiB).
;; Every exported kernel ends with (n0, n1, scr): the row range [n0, n1) of this thread and its scratch.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; Fixed-order horizontal sum ((l0 + l1) + (l2 + l3)).
  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; ---------------------------------------------------------------- decode (T = 1)

  ;; f32: W [N, kp], x [kp], y [N].
  (func (export "f32_mv")
    (param $w i32) (param $x i32) (param $y i32) (param $kp i32)
    (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $n i32) (local $wp i32) (local $xp i32) (local $xe i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (if (i32.ge_u (local.get $n0) (local.get $n1)) (then (return)))
    (local.set $n (local.get $n0))
    (local.set $wp (i32.add (local.get $w) (i32.mul (local.get $n0) (i32.shl (local.get $kp) (i32.const 2)))))
    (local.set $xe (i32.add (local.get $x) (i32.shl (local.get $kp) (i32.const 2))))
    (loop $rows
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0))
      (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $xp (local.get $x))
      (loop $k
        (local.set $a0 (f32x4.add (local.get $a0)
          (f32x4.mul (v128.load (local.get $wp)) (v128.load (local.get $xp)))))
        (local.set $a1 (f32x4.add (local.get $a1)
          (f32x4.mul (v128.load offset=16 (local.get $wp)) (v128.load offset=16 (local.get $xp)))))
        (local.set $a2 (f32x4.add (local.get $a2)
          (f32x4.mul (v128.load offset=32 (local.get $wp)) (v128.load offset=32 (local.get $xp)))))
        (local.set $a3 (f32x4.add (local.get $a3)
          (f32x4.mul (v128.load offset=48 (local.get $wp)) (v128.load offset=48 (local.get $xp)))))
        (local.set $wp (i32.add (local.get $wp) (i32.const 64)))
        (local.set $xp (i32.add (local.get $xp) (i32.const 64)))
        (br_if $k (i32.lt_u (local.get $xp) (local.get $xe))))
      (f32.store (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2)))
        (call $hsum (f32x4.add (f32x4.add (local.get $a0) (local.get $a1))
                               (f32x4.add (local.get $a2) (local.get $a3)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $n) (local.get $n1)))))

  ;; int8: q [N, nG * gp] i8, s [N * nG] f32, x [nG * gp], y [N]. Four rows at a time share the x
  ;; loads; one accumulator per row and group (the four byte lanes added in order j = 0..3), so the
  ;; one-row tail runs the same per-row sequence and results do not depend on the row grouping.
  (func (export "i8_mv")
    (param $w i32) (param $s i32) (param $x i32) (param $y i32) (param $ng i32) (param $gp i32)
    (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $n i32) (local $wp i32) (local $sp i32) (local $xp i32) (local $ge i32) (local $g i32)
    (local $rb1 i32) (local $rb2 i32) (local $rb3 i32)
    (local $xv v128) (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (if (i32.ge_u (local.get $n0) (local.get $n1)) (then (return)))
    (local.set $rb1 (i32.mul (local.get $ng) (local.get $gp)))
    (local.set $rb2 (i32.shl (local.get $rb1) (i32.const 1)))
    (local.set $rb3 (i32.add (local.get $rb2) (local.get $rb1)))
    (local.set $n (local.get $n0))
    (local.set $wp (i32.add (local.get $w) (i32.mul (local.get $n0) (local.get $rb1))))
    (local.set $sp (i32.add (local.get $s) (i32.shl (i32.mul (local.get $n0) (local.get $ng)) (i32.const 2))))
    (block $quads_done
      (loop $quads
        (br_if $quads_done (i32.gt_u (i32.add (local.get $n) (i32.const 4)) (local.get $n1)))
        (local.set $xp (local.get $x))
        (local.set $g (local.get $ng))
        (local.set $t0 (v128.const i32x4 0 0 0 0))
        (local.set $t1 (v128.const i32x4 0 0 0 0))
        (local.set $t2 (v128.const i32x4 0 0 0 0))
        (local.set $t3 (v128.const i32x4 0 0 0 0))
        (loop $groups4
          (local.set $a0 (v128.const i32x4 0 0 0 0))
          (local.set $a1 (v128.const i32x4 0 0 0 0))
          (local.set $a2 (v128.const i32x4 0 0 0 0))
          (local.set $a3 (v128.const i32x4 0 0 0 0))
          (local.set $ge (i32.add (local.get $wp) (local.get $gp)))
          (loop $blocks4
            (local.set $v0 (v128.load (local.get $wp)))
            (local.set $v1 (v128.load (i32.add (local.get $wp) (local.get $rb1))))
            (local.set $v2 (v128.load (i32.add (local.get $wp) (local.get $rb2))))
            (local.set $v3 (v128.load (i32.add (local.get $wp) (local.get $rb3))))
            (local.set $xv (v128.load (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v0) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $xv))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v1) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $xv))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v2) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $xv))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v3) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $xv))))
            (local.set $xv (v128.load offset=16 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v0) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $xv))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v1) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $xv))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v2) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $xv))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v3) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $xv))))
            (local.set $xv (v128.load offset=32 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v0) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $xv))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v1) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $xv))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v2) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $xv))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v3) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $xv))))
            (local.set $xv (v128.load offset=48 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v0) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $xv))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v1) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $xv))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v2) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $xv))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v3) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $xv))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
            (local.set $xp (i32.add (local.get $xp) (i32.const 64)))
            (br_if $blocks4 (i32.lt_u (local.get $wp) (local.get $ge))))
          (local.set $t0 (f32x4.add (local.get $t0) (f32x4.mul (local.get $a0) (f32x4.mul (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24) (v128.load32_splat (local.get $sp))))))
          (local.set $t1 (f32x4.add (local.get $t1) (f32x4.mul (local.get $a1) (f32x4.mul (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24) (v128.load32_splat (i32.add (local.get $sp) (i32.mul (local.get $ng) (i32.const 4))))))))
          (local.set $t2 (f32x4.add (local.get $t2) (f32x4.mul (local.get $a2) (f32x4.mul (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24) (v128.load32_splat (i32.add (local.get $sp) (i32.mul (local.get $ng) (i32.const 8))))))))
          (local.set $t3 (f32x4.add (local.get $t3) (f32x4.mul (local.get $a3) (f32x4.mul (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24) (v128.load32_splat (i32.add (local.get $sp) (i32.mul (local.get $ng) (i32.const 12))))))))
          (local.set $sp (i32.add (local.get $sp) (i32.const 4)))
          (local.set $g (i32.sub (local.get $g) (i32.const 1)))
          (br_if $groups4 (local.get $g)))
        (f32.store offset=0 (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))) (call $hsum (local.get $t0)))
        (f32.store offset=4 (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))) (call $hsum (local.get $t1)))
        (f32.store offset=8 (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))) (call $hsum (local.get $t2)))
        (f32.store offset=12 (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))) (call $hsum (local.get $t3)))
        (local.set $wp (i32.add (local.get $wp) (local.get $rb3)))
        (local.set $sp (i32.add (local.get $sp) (i32.mul (local.get $ng) (i32.const 12))))
        (local.set $n (i32.add (local.get $n) (i32.const 4)))
        (br $quads)))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $n) (local.get $n1)))
        (local.set $xp (local.get $x))
        (local.set $g (local.get $ng))
        (local.set $t0 (v128.const i32x4 0 0 0 0))
        (loop $groups1
          (local.set $a0 (v128.const i32x4 0 0 0 0))
          (local.set $ge (i32.add (local.get $wp) (local.get $gp)))
          (loop $blocks1
            (local.set $v0 (v128.load (local.get $wp)))
            (local.set $xv (v128.load (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v0) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $xv))))
            (local.set $xv (v128.load offset=16 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v0) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $xv))))
            (local.set $xv (v128.load offset=32 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v0) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $xv))))
            (local.set $xv (v128.load offset=48 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $v0) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $xv))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
            (local.set $xp (i32.add (local.get $xp) (i32.const 64)))
            (br_if $blocks1 (i32.lt_u (local.get $wp) (local.get $ge))))
          (local.set $t0 (f32x4.add (local.get $t0) (f32x4.mul (local.get $a0) (f32x4.mul (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24) (v128.load32_splat (local.get $sp))))))
          (local.set $sp (i32.add (local.get $sp) (i32.const 4)))
          (local.set $g (i32.sub (local.get $g) (i32.const 1)))
          (br_if $groups1 (local.get $g)))
        (f32.store offset=0 (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))) (call $hsum (local.get $t0)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $tail))))

  ;; int4: packed [N, nG * gp/2] (split-nibble blocks), s [N * nG] f32, zero points z [N * nG] u8 read
  ;; with stride zs = 1, or zs = 0 with z pointing at a byte 8 (symmetric); x [nG * gp], y [N].
  ;; q - z is formed exactly in i8 (range -15..15) before widening, so W = 0 stays an exact zero product.
  ;; Four rows at a time share the x loads; one accumulator per row and group (products added in a fixed
  ;; order), so the one-row tail runs the same per-row sequence.
  (func (export "i4_mv")
    (param $w i32) (param $s i32) (param $z i32) (param $zs i32) (param $x i32) (param $y i32) (param $ng i32) (param $gp i32)
    (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $n i32) (local $wp i32) (local $sp i32) (local $zp i32) (local $xp i32) (local $ge i32) (local $g i32)
    (local $rb1 i32) (local $rb2 i32) (local $rb3 i32) (local $zr1 i32) (local $zr2 i32) (local $zr3 i32)
    (local $m15 v128) (local $z0 v128) (local $z1 v128) (local $z2 v128) (local $z3 v128) (local $xv v128) (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (if (i32.ge_u (local.get $n0) (local.get $n1)) (then (return)))
    (local.set $m15 (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (local.set $rb1 (i32.mul (local.get $ng) (i32.shr_u (local.get $gp) (i32.const 1))))
    (local.set $rb2 (i32.shl (local.get $rb1) (i32.const 1)))
    (local.set $rb3 (i32.add (local.get $rb2) (local.get $rb1)))
    (local.set $zr1 (i32.mul (local.get $ng) (local.get $zs)))
    (local.set $zr2 (i32.shl (local.get $zr1) (i32.const 1)))
    (local.set $zr3 (i32.add (local.get $zr2) (local.get $zr1)))
    (local.set $n (local.get $n0))
    (local.set $wp (i32.add (local.get $w) (i32.mul (local.get $n0) (local.get $rb1))))
    (local.set $sp (i32.add (local.get $s) (i32.shl (i32.mul (local.get $n0) (local.get $ng)) (i32.const 2))))
    (local.set $zp (i32.add (local.get $z) (i32.mul (local.get $n0) (local.get $zr1))))
    (block $quads_done
      (loop $quads
        (br_if $quads_done (i32.gt_u (i32.add (local.get $n) (i32.const 4)) (local.get $n1)))
        (local.set $xp (local.get $x))
        (local.set $g (local.get $ng))
        (local.set $t0 (v128.const i32x4 0 0 0 0))
        (local.set $t1 (v128.const i32x4 0 0 0 0))
        (local.set $t2 (v128.const i32x4 0 0 0 0))
        (local.set $t3 (v128.const i32x4 0 0 0 0))
        (loop $groups4
          (local.set $z0 (v128.load8_splat (local.get $zp)))
          (local.set $z1 (v128.load8_splat (i32.add (local.get $zp) (local.get $zr1))))
          (local.set $z2 (v128.load8_splat (i32.add (local.get $zp) (local.get $zr2))))
          (local.set $z3 (v128.load8_splat (i32.add (local.get $zp) (local.get $zr3))))
          (local.set $a0 (v128.const i32x4 0 0 0 0))
          (local.set $a1 (v128.const i32x4 0 0 0 0))
          (local.set $a2 (v128.const i32x4 0 0 0 0))
          (local.set $a3 (v128.const i32x4 0 0 0 0))
          (local.set $ge (i32.add (local.get $wp) (i32.shr_u (local.get $gp) (i32.const 1))))
          (loop $blocks4
            (local.set $q0 (i8x16.sub (v128.and (v128.load (local.get $wp)) (local.get $m15)) (local.get $z0)))
            (local.set $q1 (i8x16.sub (v128.and (v128.load (i32.add (local.get $wp) (local.get $rb1))) (local.get $m15)) (local.get $z1)))
            (local.set $q2 (i8x16.sub (v128.and (v128.load (i32.add (local.get $wp) (local.get $rb2))) (local.get $m15)) (local.get $z2)))
            (local.set $q3 (i8x16.sub (v128.and (v128.load (i32.add (local.get $wp) (local.get $rb3))) (local.get $m15)) (local.get $z3)))
            (local.set $xv (v128.load (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $xv))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q1) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $xv))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q2) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $xv))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q3) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $xv))))
            (local.set $xv (v128.load offset=16 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $xv))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q1) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $xv))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q2) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $xv))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q3) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $xv))))
            (local.set $xv (v128.load offset=32 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $xv))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q1) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $xv))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q2) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $xv))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q3) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $xv))))
            (local.set $xv (v128.load offset=48 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $xv))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q1) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $xv))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q2) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $xv))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q3) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $xv))))
            (local.set $q0 (i8x16.sub (v128.and (i16x8.shr_u (v128.load (local.get $wp)) (i32.const 4)) (local.get $m15)) (local.get $z0)))
            (local.set $q1 (i8x16.sub (v128.and (i16x8.shr_u (v128.load (i32.add (local.get $wp) (local.get $rb1))) (i32.const 4)) (local.get $m15)) (local.get $z1)))
            (local.set $q2 (i8x16.sub (v128.and (i16x8.shr_u (v128.load (i32.add (local.get $wp) (local.get $rb2))) (i32.const 4)) (local.get $m15)) (local.get $z2)))
            (local.set $q3 (i8x16.sub (v128.and (i16x8.shr_u (v128.load (i32.add (local.get $wp) (local.get $rb3))) (i32.const 4)) (local.get $m15)) (local.get $z3)))
            (local.set $xv (v128.load offset=64 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $xv))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q1) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $xv))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q2) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $xv))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q3) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $xv))))
            (local.set $xv (v128.load offset=80 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $xv))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q1) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $xv))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q2) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $xv))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q3) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $xv))))
            (local.set $xv (v128.load offset=96 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $xv))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q1) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $xv))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q2) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $xv))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q3) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $xv))))
            (local.set $xv (v128.load offset=112 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $xv))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q1) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $xv))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q2) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $xv))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q3) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $xv))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
            (local.set $xp (i32.add (local.get $xp) (i32.const 128)))
            (br_if $blocks4 (i32.lt_u (local.get $wp) (local.get $ge))))
          (local.set $t0 (f32x4.add (local.get $t0) (f32x4.mul (local.get $a0) (f32x4.mul (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24) (v128.load32_splat (local.get $sp))))))
          (local.set $t1 (f32x4.add (local.get $t1) (f32x4.mul (local.get $a1) (f32x4.mul (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24) (v128.load32_splat (i32.add (local.get $sp) (i32.mul (local.get $ng) (i32.const 4))))))))
          (local.set $t2 (f32x4.add (local.get $t2) (f32x4.mul (local.get $a2) (f32x4.mul (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24) (v128.load32_splat (i32.add (local.get $sp) (i32.mul (local.get $ng) (i32.const 8))))))))
          (local.set $t3 (f32x4.add (local.get $t3) (f32x4.mul (local.get $a3) (f32x4.mul (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24) (v128.load32_splat (i32.add (local.get $sp) (i32.mul (local.get $ng) (i32.const 12))))))))
          (local.set $sp (i32.add (local.get $sp) (i32.const 4)))
          (local.set $zp (i32.add (local.get $zp) (local.get $zs)))
          (local.set $g (i32.sub (local.get $g) (i32.const 1)))
          (br_if $groups4 (local.get $g)))
        (f32.store offset=0 (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))) (call $hsum (local.get $t0)))
        (f32.store offset=4 (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))) (call $hsum (local.get $t1)))
        (f32.store offset=8 (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))) (call $hsum (local.get $t2)))
        (f32.store offset=12 (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))) (call $hsum (local.get $t3)))
        (local.set $wp (i32.add (local.get $wp) (local.get $rb3)))
        (local.set $sp (i32.add (local.get $sp) (i32.mul (local.get $ng) (i32.const 12))))
        (local.set $zp (i32.add (local.get $zp) (local.get $zr3)))
        (local.set $n (i32.add (local.get $n) (i32.const 4)))
        (br $quads)))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $n) (local.get $n1)))
        (local.set $xp (local.get $x))
        (local.set $g (local.get $ng))
        (local.set $t0 (v128.const i32x4 0 0 0 0))
        (loop $groups1
          (local.set $z0 (v128.load8_splat (local.get $zp)))
          (local.set $a0 (v128.const i32x4 0 0 0 0))
          (local.set $ge (i32.add (local.get $wp) (i32.shr_u (local.get $gp) (i32.const 1))))
          (loop $blocks1
            (local.set $q0 (i8x16.sub (v128.and (v128.load (local.get $wp)) (local.get $m15)) (local.get $z0)))
            (local.set $xv (v128.load (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $xv))))
            (local.set $xv (v128.load offset=16 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $xv))))
            (local.set $xv (v128.load offset=32 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $xv))))
            (local.set $xv (v128.load offset=48 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $xv))))
            (local.set $q0 (i8x16.sub (v128.and (i16x8.shr_u (v128.load (local.get $wp)) (i32.const 4)) (local.get $m15)) (local.get $z0)))
            (local.set $xv (v128.load offset=64 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $xv))))
            (local.set $xv (v128.load offset=80 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $xv))))
            (local.set $xv (v128.load offset=96 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $xv))))
            (local.set $xv (v128.load offset=112 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $xv))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
            (local.set $xp (i32.add (local.get $xp) (i32.const 128)))
            (br_if $blocks1 (i32.lt_u (local.get $wp) (local.get $ge))))
          (local.set $t0 (f32x4.add (local.get $t0) (f32x4.mul (local.get $a0) (f32x4.mul (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24) (v128.load32_splat (local.get $sp))))))
          (local.set $sp (i32.add (local.get $sp) (i32.const 4)))
          (local.set $zp (i32.add (local.get $zp) (local.get $zs)))
          (local.set $g (i32.sub (local.get $g) (i32.const 1)))
          (br_if $groups1 (local.get $g)))
        (f32.store offset=0 (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))) (call $hsum (local.get $t0)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $tail))))

  ;; ---------------------------------------------------------------- prefill (T > 1)
  ;;
  ;; x is gathered as token quads: quad q holds tokens 4q..4q+3 (zero rows past T) interleaved by
  ;; 4-float chunks, [kp/4][4 tokens][4 floats], so one pointer walks all four tokens. Rows are taken
  ;; ROWS_PER_BLOCK (8) at a time (integer formats: dequantized to f32, q * s, the same product as
  ;; formats.ts dequantize, into the thread's scratch); each token quad is run against the block's
  ;; rows two at a time (2 x 4 tile, 8 accumulators), so a quad is loaded once per 8 rows. Every
  ;; (row, token) sum is accumulated in the same order whatever its tile position, so results do not
  ;; depend on T, on the row split between threads, or on pairing.

  ;; 2 rows (wa, wa + ws; ws = 0 and two = 0 for a lone row) x 4 tokens of quad xq; stores the first
  ;; tc tokens' results to y[(t0 + t) * nn + n (+1)].
  (func $tile
    (param $wa i32) (param $ws i32) (param $two i32) (param $xq i32) (param $kp i32)
    (param $y i32) (param $nn i32) (param $n i32) (param $t0 i32) (param $tc i32)
    (local $wp i32) (local $we i32) (local $xp i32) (local $yp i32)
    (local $wv v128) (local $wb v128) (local $xv v128)
    (local $c00 v128) (local $c01 v128) (local $c02 v128) (local $c03 v128)
    (local $c10 v128) (local $c11 v128) (local $c12 v128) (local $c13 v128)
    (local.set $c00 (v128.const i32x4 0 0 0 0))
    (local.set $c01 (v128.const i32x4 0 0 0 0))
    (local.set $c02 (v128.const i32x4 0 0 0 0))
    (local.set $c03 (v128.const i32x4 0 0 0 0))
    (local.set $c10 (v128.const i32x4 0 0 0 0))
    (local.set $c11 (v128.const i32x4 0 0 0 0))
    (local.set $c12 (v128.const i32x4 0 0 0 0))
    (local.set $c13 (v128.const i32x4 0 0 0 0))
    (local.set $wp (local.get $wa))
    (local.set $we (i32.add (local.get $wa) (i32.shl (local.get $kp) (i32.const 2))))
    (local.set $xp (local.get $xq))
    (loop $k
        (local.set $wv (v128.load (local.get $wp)))
        (local.set $wb (v128.load (i32.add (local.get $wp) (local.get $ws))))
        (local.set $xv (v128.load (local.get $xp)))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $wv) (local.get $xv))))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $wb) (local.get $xv))))
        (local.set $xv (v128.load offset=16 (local.get $xp)))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $wv) (local.get $xv))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $wb) (local.get $xv))))
        (local.set $xv (v128.load offset=32 (local.get $xp)))
        (local.set $c02 (f32x4.add (local.get $c02) (f32x4.mul (local.get $wv) (local.get $xv))))
        (local.set $c12 (f32x4.add (local.get $c12) (f32x4.mul (local.get $wb) (local.get $xv))))
        (local.set $xv (v128.load offset=48 (local.get $xp)))
        (local.set $c03 (f32x4.add (local.get $c03) (f32x4.mul (local.get $wv) (local.get $xv))))
        (local.set $c13 (f32x4.add (local.get $c13) (f32x4.mul (local.get $wb) (local.get $xv))))
        (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
        (local.set $xp (i32.add (local.get $xp) (i32.const 64)))
        (br_if $k (i32.lt_u (local.get $wp) (local.get $we))))
    (if (i32.lt_u (i32.const 0) (local.get $tc)) (then
      (local.set $yp (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (i32.add (local.get $t0) (i32.const 0)) (local.get $nn)) (local.get $n)) (i32.const 2))))
      (f32.store (local.get $yp) (call $hsum (local.get $c00)))
      (if (local.get $two) (then (f32.store offset=4 (local.get $yp) (call $hsum (local.get $c10)))))))
    (if (i32.lt_u (i32.const 1) (local.get $tc)) (then
      (local.set $yp (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (i32.add (local.get $t0) (i32.const 1)) (local.get $nn)) (local.get $n)) (i32.const 2))))
      (f32.store (local.get $yp) (call $hsum (local.get $c01)))
      (if (local.get $two) (then (f32.store offset=4 (local.get $yp) (call $hsum (local.get $c11)))))))
    (if (i32.lt_u (i32.const 2) (local.get $tc)) (then
      (local.set $yp (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (i32.add (local.get $t0) (i32.const 2)) (local.get $nn)) (local.get $n)) (i32.const 2))))
      (f32.store (local.get $yp) (call $hsum (local.get $c02)))
      (if (local.get $two) (then (f32.store offset=4 (local.get $yp) (call $hsum (local.get $c12)))))))
    (if (i32.lt_u (i32.const 3) (local.get $tc)) (then
      (local.set $yp (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (i32.add (local.get $t0) (i32.const 3)) (local.get $nn)) (local.get $n)) (i32.const 2))))
      (f32.store (local.get $yp) (call $hsum (local.get $c03)))
      (if (local.get $two) (then (f32.store offset=4 (local.get $yp) (call $hsum (local.get $c13)))))))
  )

  ;; Rows [r0, r1) (at most 8, row r at wr + (r - r0) * kp * 4) against every token quad.
  (func $rows_x_quads
    (param $wr i32) (param $r0 i32) (param $r1 i32) (param $x i32) (param $y i32) (param $kp i32) (param $t i32) (param $nn i32)
    (local $tq i32) (local $r i32) (local $kb i32) (local $two i32)
    (local.set $kb (i32.shl (local.get $kp) (i32.const 2)))
    (local.set $tq (i32.const 0))
    (loop $quads
      (local.set $r (local.get $r0))
      (loop $pairs
        (local.set $two (i32.lt_u (i32.add (local.get $r) (i32.const 1)) (local.get $r1)))
        (call $tile
          (i32.add (local.get $wr) (i32.mul (i32.sub (local.get $r) (local.get $r0)) (local.get $kb)))
          (select (local.get $kb) (i32.const 0) (local.get $two)) (local.get $two)
          (i32.add (local.get $x) (i32.mul (local.get $tq) (i32.shl (local.get $kb) (i32.const 2))))
          (local.get $kp) (local.get $y) (local.get $nn) (local.get $r)
          (i32.shl (local.get $tq) (i32.const 2))
          (i32.sub (local.get $t) (i32.shl (local.get $tq) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 2)))
        (br_if $pairs (i32.lt_u (local.get $r) (local.get $r1))))
      (local.set $tq (i32.add (local.get $tq) (i32.const 1)))
      (br_if $quads (i32.lt_u (i32.shl (local.get $tq) (i32.const 2)) (local.get $t)))))

  ;; f32 prefill: W [N, kp], x token quads, y [T, N].
  (func (export "f32_mm")
    (param $w i32) (param $x i32) (param $y i32) (param $kp i32) (param $t i32) (param $nn i32)
    (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $n i32) (local $e i32)
    (local.set $n (local.get $n0))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))
        (local.set $e (select (local.get $n1) (i32.add (local.get $n) (i32.const 8))
                              (i32.lt_u (local.get $n1) (i32.add (local.get $n) (i32.const 8)))))
        (call $rows_x_quads
          (i32.add (local.get $w) (i32.mul (local.get $n) (i32.shl (local.get $kp) (i32.const 2))))
          (local.get $n) (local.get $e) (local.get $x) (local.get $y) (local.get $kp) (local.get $t) (local.get $nn))
        (local.set $n (local.get $e))
        (br $blocks))))

  ;; One int8 row (wp: nG groups of gp bytes, sp: its nG scales) dequantized to f32 at op.
  (func $i8_deq (param $wp i32) (param $sp i32) (param $ng i32) (param $gp i32) (param $op i32)
    (local $ge i32) (local $g i32) (local $sv v128) (local $h v128)
    (local.set $g (local.get $ng))
    (loop $groups
      (local.set $sv (f32x4.mul (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24) (v128.load32_splat (local.get $sp))))
      (local.set $ge (i32.add (local.get $wp) (local.get $gp)))
      (loop $blocks
            (local.set $h (v128.load (local.get $wp)))
            (v128.store (local.get $op)
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $h) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $sv)))
            (v128.store offset=16 (local.get $op)
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $h) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $sv)))
            (v128.store offset=32 (local.get $op)
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $h) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $sv)))
            (v128.store offset=48 (local.get $op)
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $h) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $sv)))
            (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
            (local.set $op (i32.add (local.get $op) (i32.const 64)))
            (br_if $blocks (i32.lt_u (local.get $wp) (local.get $ge))))
      (local.set $sp (i32.add (local.get $sp) (i32.const 4)))
      (local.set $g (i32.sub (local.get $g) (i32.const 1)))
      (br_if $groups (local.get $g))))

  ;; One int4 row (wp: nG groups of gp/2 bytes, sp: scales, zp: zero points or 0) dequantized to f32 at op.
  (func $i4_deq (param $wp i32) (param $sp i32) (param $zp i32) (param $ng i32) (param $gp i32) (param $op i32)
    (local $ge i32) (local $g i32) (local $sv v128) (local $zv v128) (local $v v128) (local $q v128)
    (local.set $zv (i8x16.splat (i32.const 8)))
    (local.set $g (local.get $ng))
    (loop $groups
      (local.set $sv (f32x4.mul (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24) (v128.load32_splat (local.get $sp))))
      (if (local.get $zp) (then
        (local.set $zv (i8x16.splat (i32.load8_u (local.get $zp))))
        (local.set $zp (i32.add (local.get $zp) (i32.const 1)))))
      (local.set $ge (i32.add (local.get $wp) (i32.shr_u (local.get $gp) (i32.const 1))))
      (loop $blocks
            (local.set $v (v128.load (local.get $wp)))
            (local.set $q (i8x16.sub (v128.and (local.get $v) (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
                                     (local.get $zv)))
            (v128.store (local.get $op)
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $sv)))
            (v128.store offset=16 (local.get $op)
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $sv)))
            (v128.store offset=32 (local.get $op)
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $sv)))
            (v128.store offset=48 (local.get $op)
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $sv)))
            (local.set $q (i8x16.sub (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15)) (local.get $zv)))
            (v128.store offset=64 (local.get $op)
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $sv)))
            (v128.store offset=80 (local.get $op)
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $sv)))
            (v128.store offset=96 (local.get $op)
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $sv)))
            (v128.store offset=112 (local.get $op)
              (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $sv)))
            (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
            (local.set $op (i32.add (local.get $op) (i32.const 128)))
            (br_if $blocks (i32.lt_u (local.get $wp) (local.get $ge))))
      (local.set $sp (i32.add (local.get $sp) (i32.const 4)))
      (local.set $g (i32.sub (local.get $g) (i32.const 1)))
      (br_if $groups (local.get $g))))

  ;; int8 prefill: q [N, nG * gp], s [N * nG], x token quads, y [T, N]; scr holds 8 dequantized rows.
  (func (export "i8_mm")
    (param $w i32) (param $s i32) (param $x i32) (param $y i32) (param $ng i32) (param $gp i32) (param $t i32) (param $nn i32)
    (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $n i32) (local $e i32) (local $r i32) (local $kp i32)
    (local.set $kp (i32.mul (local.get $ng) (local.get $gp)))
    (local.set $n (local.get $n0))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))
        (local.set $e (select (local.get $n1) (i32.add (local.get $n) (i32.const 8))
                              (i32.lt_u (local.get $n1) (i32.add (local.get $n) (i32.const 8)))))
        (local.set $r (local.get $n))
        (loop $deq
          (call $i8_deq
            (i32.add (local.get $w) (i32.mul (local.get $r) (local.get $kp)))
            (i32.add (local.get $s) (i32.shl (i32.mul (local.get $r) (local.get $ng)) (i32.const 2)))
            (local.get $ng) (local.get $gp)
            (i32.add (local.get $scr) (i32.shl (i32.mul (i32.sub (local.get $r) (local.get $n)) (local.get $kp)) (i32.const 2))))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $deq (i32.lt_u (local.get $r) (local.get $e))))
        (call $rows_x_quads (local.get $scr) (local.get $n) (local.get $e) (local.get $x) (local.get $y) (local.get $kp) (local.get $t) (local.get $nn))
        (local.set $n (local.get $e))
        (br $blocks))))

  ;; int4 prefill: packed [N, nG * gp/2], s, z (or 0), x token quads, y [T, N]; scr holds 8 dequantized rows.
  (func (export "i4_mm")
    (param $w i32) (param $s i32) (param $z i32) (param $x i32) (param $y i32) (param $ng i32) (param $gp i32)
    (param $t i32) (param $nn i32) (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $n i32) (local $e i32) (local $r i32) (local $kp i32)
    (local.set $kp (i32.mul (local.get $ng) (local.get $gp)))
    (local.set $n (local.get $n0))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))
        (local.set $e (select (local.get $n1) (i32.add (local.get $n) (i32.const 8))
                              (i32.lt_u (local.get $n1) (i32.add (local.get $n) (i32.const 8)))))
        (local.set $r (local.get $n))
        (loop $deq
          (call $i4_deq
            (i32.add (local.get $w) (i32.mul (local.get $r) (i32.shr_u (local.get $kp) (i32.const 1))))
            (i32.add (local.get $s) (i32.shl (i32.mul (local.get $r) (local.get $ng)) (i32.const 2)))
            (select (i32.add (local.get $z) (i32.mul (local.get $r) (local.get $ng))) (i32.const 0) (local.get $z))
            (local.get $ng) (local.get $gp)
            (i32.add (local.get $scr) (i32.shl (i32.mul (i32.sub (local.get $r) (local.get $n)) (local.get $kp)) (i32.const 2))))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $deq (i32.lt_u (local.get $r) (local.get $e))))
        (call $rows_x_quads (local.get $scr) (local.get $n) (local.get $e) (local.get $x) (local.get $y) (local.get $kp) (local.get $t) (local.get $nn))
        (local.set $n (local.get $e))
        (br $blocks))))

  ;; ---------------------------------------------------------------- bandwidth probe

  ;; Sums f32 blocks [n0, n1) of 64 bytes starting at base; writes the f32x4 total to scr (so the
  ;; loads cannot be optimized away). Used by bench/ to measure DRAM read bandwidth.
  (func (export "sum_f32")
    (param $base i32) (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $p i32) (local $e i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (if (i32.ge_u (local.get $n0) (local.get $n1)) (then (return)))
    (local.set $p (i32.add (local.get $base) (i32.shl (local.get $n0) (i32.const 6))))
    (local.set $e (i32.add (local.get $base) (i32.shl (local.get $n1) (i32.const 6))))
    (loop $k
      (local.set $a0 (f32x4.add (local.get $a0) (v128.load (local.get $p))))
      (local.set $a1 (f32x4.add (local.get $a1) (v128.load offset=16 (local.get $p))))
      (local.set $a2 (f32x4.add (local.get $a2) (v128.load offset=32 (local.get $p))))
      (local.set $a3 (f32x4.add (local.get $a3) (v128.load offset=48 (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 64)))
      (br_if $k (i32.lt_u (local.get $p) (local.get $e))))
    (v128.store (local.get $scr)
      (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3)))))
)
