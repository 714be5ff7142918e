;; Glassbox CPU hot path: y[T, N] = x[T, K] · Wᵀ for f32, int8 and int4 weights, WebAssembly SIMD (128-bit).
;;
;; Layouts (written once by kernels/wasm/pack.ts, see kernels/README.md):
;;  - Every row is a sequence of nG groups, each padded with zero weights to Gp elements (Gp a multiple of
;;    16 for f32 / int8, of 32 for int4); x is gathered (perm) and padded the same way per call, so no kernel
;;    has a tail loop. f32 is one group of Gp = roundup(K, 16).
;;  - int8: Gp bytes per group. int4: Gp/2 bytes per group in blocks of 16 bytes; byte b of a block holds
;;    weight k0+b in its low nibble and k0+16+b in its high nibble (so one and / one shift yields 16
;;    consecutive weights each). Scales: f32 [N * nG]. Zero points: u8 [N * nG]; symmetric int4 (z = 8)
;;    has none and stores every nibble as q ^ 8 (q - 8 in two's complement), see i4s_mv.
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
;;    Per 32 weights of a row: int8 8 x (swizzle, convert, mul, add) = 32 vector ops and 2 weight loads;
;;    int4 1 weight load and the same 32 ops plus nibble unpacking: 5 more with zero points (i4_mv),
;;    3 more when symmetric (i4s_mv). The machine runs ~2.7 of these ops per cycle, so they, not DRAM,
;;    set the decode speed (kernels/README.md).
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

  ;; Asymmetric int4: packed [N, nG * gp/2] (split-nibble blocks), s [N * nG] f32, zero points
  ;; z [N * nG] u8; x [nG * gp], y [N]. (Symmetric int4 runs i4s_mv.)
  ;; q - z is formed exactly in i8 (range -15..15) before widening, so W = 0 stays an exact zero product.
  ;; Four rows at a time share the x loads; one accumulator per row and group (products added in a fixed
  ;; order), so the one-row tail runs the same per-row sequence.
  (func (export "i4_mv")
    (param $w i32) (param $s i32) (param $z i32) (param $x i32) (param $y i32) (param $ng i32) (param $gp i32)
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
    (local.set $zr1 (local.get $ng))
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
          (local.set $zp (i32.add (local.get $zp) (i32.const 1)))
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
          (local.set $zp (i32.add (local.get $zp) (i32.const 1)))
          (local.set $g (i32.sub (local.get $g) (i32.const 1)))
          (br_if $groups1 (local.get $g)))
        (f32.store offset=0 (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))) (call $hsum (local.get $t0)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $tail))))

  ;; Symmetric int4 (z = 8): packed as i4_mv but every nibble stored as q ^ 8, i.e. q - 8 in two's
  ;; complement (pads 0). A nibble moved to the top of its byte is then 16 (q - 8) as an i8, and after
  ;; the swizzle and convert exactly (q - 8) 2^28; the 2^-28 is folded into the scale. High nibbles need
  ;; one and, low nibbles one 16-bit shift and an and: 3 integer ops per 32 weights instead of the 5 of
  ;; i4_mv (no q - z, no zero-point registers). Same order of f32 operations as i4_mv with z = 8, every
  ;; value scaled by 2^4, so the results are bit-identical to it while products neither overflow
  ;; (|x| < 2^96) nor go subnormal (tested); near those limits both stay within the f32 bound.
  (func (export "i4s_mv")
    (param $w i32) (param $s i32) (param $x i32) (param $y i32) (param $ng i32) (param $gp i32)
    (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $n i32) (local $wp i32) (local $sp i32) (local $xp i32) (local $ge i32) (local $g i32)
    (local $rb1 i32) (local $rb2 i32) (local $rb3 i32)
    (local $mf0 v128) (local $xv v128) (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (if (i32.ge_u (local.get $n0) (local.get $n1)) (then (return)))
    (local.set $mf0 (v128.const i8x16 0xf0 0xf0 0xf0 0xf0 0xf0 0xf0 0xf0 0xf0 0xf0 0xf0 0xf0 0xf0 0xf0 0xf0 0xf0 0xf0))
    (local.set $rb1 (i32.mul (local.get $ng) (i32.shr_u (local.get $gp) (i32.const 1))))
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
          (local.set $ge (i32.add (local.get $wp) (i32.shr_u (local.get $gp) (i32.const 1))))
          (loop $blocks4
            (local.set $q0 (v128.and (i16x8.shl (v128.load (local.get $wp)) (i32.const 4)) (local.get $mf0)))
            (local.set $q1 (v128.and (i16x8.shl (v128.load (i32.add (local.get $wp) (local.get $rb1))) (i32.const 4)) (local.get $mf0)))
            (local.set $q2 (v128.and (i16x8.shl (v128.load (i32.add (local.get $wp) (local.get $rb2))) (i32.const 4)) (local.get $mf0)))
            (local.set $q3 (v128.and (i16x8.shl (v128.load (i32.add (local.get $wp) (local.get $rb3))) (i32.const 4)) (local.get $mf0)))
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
            (local.set $q0 (v128.and (v128.load (local.get $wp)) (local.get $mf0)))
            (local.set $q1 (v128.and (v128.load (i32.add (local.get $wp) (local.get $rb1))) (local.get $mf0)))
            (local.set $q2 (v128.and (v128.load (i32.add (local.get $wp) (local.get $rb2))) (local.get $mf0)))
            (local.set $q3 (v128.and (v128.load (i32.add (local.get $wp) (local.get $rb3))) (local.get $mf0)))
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
          (local.set $t0 (f32x4.add (local.get $t0) (f32x4.mul (local.get $a0) (f32x4.mul (v128.const f32x4 0x1p-28 0x1p-28 0x1p-28 0x1p-28) (v128.load32_splat (local.get $sp))))))
          (local.set $t1 (f32x4.add (local.get $t1) (f32x4.mul (local.get $a1) (f32x4.mul (v128.const f32x4 0x1p-28 0x1p-28 0x1p-28 0x1p-28) (v128.load32_splat (i32.add (local.get $sp) (i32.mul (local.get $ng) (i32.const 4))))))))
          (local.set $t2 (f32x4.add (local.get $t2) (f32x4.mul (local.get $a2) (f32x4.mul (v128.const f32x4 0x1p-28 0x1p-28 0x1p-28 0x1p-28) (v128.load32_splat (i32.add (local.get $sp) (i32.mul (local.get $ng) (i32.const 8))))))))
          (local.set $t3 (f32x4.add (local.get $t3) (f32x4.mul (local.get $a3) (f32x4.mul (v128.const f32x4 0x1p-28 0x1p-28 0x1p-28 0x1p-28) (v128.load32_splat (i32.add (local.get $sp) (i32.mul (local.get $ng) (i32.const 12))))))))
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
          (local.set $ge (i32.add (local.get $wp) (i32.shr_u (local.get $gp) (i32.const 1))))
          (loop $blocks1
            (local.set $q0 (v128.and (i16x8.shl (v128.load (local.get $wp)) (i32.const 4)) (local.get $mf0)))
            (local.set $xv (v128.load (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 0 0x80 0x80 0x80 4 0x80 0x80 0x80 8 0x80 0x80 0x80 12))) (local.get $xv))))
            (local.set $xv (v128.load offset=16 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 1 0x80 0x80 0x80 5 0x80 0x80 0x80 9 0x80 0x80 0x80 13))) (local.get $xv))))
            (local.set $xv (v128.load offset=32 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 2 0x80 0x80 0x80 6 0x80 0x80 0x80 10 0x80 0x80 0x80 14))) (local.get $xv))))
            (local.set $xv (v128.load offset=48 (local.get $xp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (f32x4.convert_i32x4_s (i8x16.swizzle (local.get $q0) (v128.const i8x16 0x80 0x80 0x80 3 0x80 0x80 0x80 7 0x80 0x80 0x80 11 0x80 0x80 0x80 15))) (local.get $xv))))
            (local.set $q0 (v128.and (v128.load (local.get $wp)) (local.get $mf0)))
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
          (local.set $t0 (f32x4.add (local.get $t0) (f32x4.mul (local.get $a0) (f32x4.mul (v128.const f32x4 0x1p-28 0x1p-28 0x1p-28 0x1p-28) (v128.load32_splat (local.get $sp))))))
          (local.set $sp (i32.add (local.get $sp) (i32.const 4)))
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
  ;; Symmetric rows (zp = 0) store q ^ 8: xor 0x88 restores q in both nibbles, then z = 8 as for zero points.
  (func $i4_deq (param $wp i32) (param $sp i32) (param $zp i32) (param $ng i32) (param $gp i32) (param $op i32)
    (local $ge i32) (local $g i32) (local $sv v128) (local $zv v128) (local $xm v128) (local $v v128) (local $q v128)
    (local.set $zv (i8x16.splat (i32.const 8)))
    (local.set $xm (i8x16.splat (select (i32.const 0) (i32.const 0x88) (local.get $zp))))
    (local.set $g (local.get $ng))
    (loop $groups
      (local.set $sv (f32x4.mul (v128.const f32x4 0x1p-24 0x1p-24 0x1p-24 0x1p-24) (v128.load32_splat (local.get $sp))))
      (if (local.get $zp) (then
        (local.set $zv (i8x16.splat (i32.load8_u (local.get $zp))))
        (local.set $zp (i32.add (local.get $zp) (i32.const 1)))))
      (local.set $ge (i32.add (local.get $wp) (i32.shr_u (local.get $gp) (i32.const 1))))
      (loop $blocks
            (local.set $v (v128.xor (v128.load (local.get $wp)) (local.get $xm)))
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

  ;; ---------------------------------------------------------------- integer-dot path (default for int8 / int4)
  ;;
  ;; kernels/dot-quant.ts defines what these compute; kernels/reference/linear-dot.ts is the same computation as
  ;; plain loops (tests compare bit for bit). x arrives quantized to int16 per block of bs elements (scale sx[b]);
  ;; weights stay integers: i32x4.dot_i16x8_s (pmaddwd: 8 products, pairwise added into 4 i32 lanes) against
  ;; int8 weights sign-extended to i16 (i16x8.extend_low/high) or int4 nibbles masked out of i16 lanes. A block's
  ;; integer sum I = Σ (q - z) xq is exact (|I| < 2^31 for bs <= 256); f32 arithmetic only starts after it:
  ;; accG += f32(I) * sx[b] per block, y += accG * scale per group, four rows (decode) or four tokens (prefill)
  ;; per f32x4, every lane in the reference's order. Rows are padded to a multiple of 8 (pack-dot.ts).
  ;; Layouts: int8 rows of kp bytes; int4 rows of kp/2 bytes in 16-byte chunks of 32 weights, i16 lane l of a
  ;; chunk holds weight 8j + l in bits 4j..4j+3 (j = 0..3), so (v >> 4j) & 15 per i16 lane is 8 consecutive
  ;; weights; scales f32 and zero points u8 as [row quad][group][4 rows].
  ;; Per 32 weights of a row: int8 2 loads + 6 extends + 4 dots + 4 adds (16 ops); int4 1 load + 6 nibble ops
  ;; (and; shr, and; shr, and; shr) + 4 dots + 4 adds (15 ops); plus the x loads (4 per 32, shared by 4 rows).

  ;; [Σ lanes of a0, of a1, of a2, of a3] (exact i32 sums).
  (func $tsum (param $a0 v128) (param $a1 v128) (param $a2 v128) (param $a3 v128) (result v128)
    (local $p v128) (local $q v128)
    (local.set $p (i32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a0) (local.get $a1))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1))))
    (local.set $q (i32x4.add
      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a2) (local.get $a3))
      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3))))
    (i32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $p) (local.get $q))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $p) (local.get $q))))

  ;; int8 decode: w [Np/4][kp/32][4][32] i8 (row quads interleaved, pack-dot.ts), s [Np/4][nG][4] f32, xq [kp] i16, sx [kp/bs] f32, y [Np]; rows [n0, n1) in quads.
  (func (export "i8d_mv")
    (param $w i32) (param $s i32) (param $xq i32) (param $sx i32) (param $y i32)
    (param $ng i32) (param $nbg i32) (param $bs i32)
    (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $tp v128) (local $tq v128) (local $n i32) (local $wp i32) (local $sp i32) (local $xp i32) (local $xs i32) (local $be i32) (local $g i32) (local $b i32)
        (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128) (local $v v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $acc v128) (local $tot v128)
    (if (i32.ge_u (local.get $n0) (local.get $n1)) (then (return)))
    (local.set $n (local.get $n0))
    (local.set $wp (i32.add (local.get $w) (i32.mul (local.get $n0) (i32.mul (i32.mul (local.get $ng) (local.get $nbg)) (local.get $bs)))))
    (local.set $sp (i32.add (local.get $s) (i32.shl (i32.mul (local.get $n0) (local.get $ng)) (i32.const 2))))
    (loop $quads
      (local.set $xp (local.get $xq))
      (local.set $xs (local.get $sx))
      (local.set $tot (v128.const i32x4 0 0 0 0))
      (local.set $g (local.get $ng))
      (loop $groups
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $b (local.get $nbg))
        (loop $blocks
          (local.set $a0 (v128.const i32x4 0 0 0 0))
          (local.set $a1 (v128.const i32x4 0 0 0 0))
          (local.set $a2 (v128.const i32x4 0 0 0 0))
          (local.set $a3 (v128.const i32x4 0 0 0 0))
          (local.set $be (i32.add (local.get $wp) (i32.shl (local.get $bs) (i32.const 2))))
          (loop $k
            (local.set $x0 (v128.load (local.get $xp)))
            (local.set $x1 (v128.load offset=16 (local.get $xp)))
            (local.set $x2 (v128.load offset=32 (local.get $xp)))
            (local.set $x3 (v128.load offset=48 (local.get $xp)))
            (local.set $v (v128.load (local.get $wp)))
            (local.set $a0 (i32x4.add (local.get $a0) (i32x4.add
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $x0))
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $x1)))))
            (local.set $v (v128.load offset=16 (local.get $wp)))
            (local.set $a0 (i32x4.add (local.get $a0) (i32x4.add
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $x2))
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $x3)))))
            (local.set $v (v128.load offset=32 (local.get $wp)))
            (local.set $a1 (i32x4.add (local.get $a1) (i32x4.add
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $x0))
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $x1)))))
            (local.set $v (v128.load offset=48 (local.get $wp)))
            (local.set $a1 (i32x4.add (local.get $a1) (i32x4.add
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $x2))
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $x3)))))
            (local.set $v (v128.load offset=64 (local.get $wp)))
            (local.set $a2 (i32x4.add (local.get $a2) (i32x4.add
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $x0))
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $x1)))))
            (local.set $v (v128.load offset=80 (local.get $wp)))
            (local.set $a2 (i32x4.add (local.get $a2) (i32x4.add
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $x2))
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $x3)))))
            (local.set $v (v128.load offset=96 (local.get $wp)))
            (local.set $a3 (i32x4.add (local.get $a3) (i32x4.add
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $x0))
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $x1)))))
            (local.set $v (v128.load offset=112 (local.get $wp)))
            (local.set $a3 (i32x4.add (local.get $a3) (i32x4.add
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $x2))
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $x3)))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 128)))
            (local.set $xp (i32.add (local.get $xp) (i32.const 64)))
            (br_if $k (i32.lt_u (local.get $wp) (local.get $be))))
          (local.set $acc (f32x4.add (local.get $acc)
            (f32x4.mul (f32x4.convert_i32x4_s (i32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.tee $tp (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a0) (local.get $a1)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1)))) (local.tee $tq (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a2) (local.get $a3)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3))))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $tp) (local.get $tq))))
                       (v128.load32_splat (local.get $xs)))))
          (local.set $xs (i32.add (local.get $xs) (i32.const 4)))
          (local.set $b (i32.sub (local.get $b) (i32.const 1)))
          (br_if $blocks (local.get $b)))
        (local.set $tot (f32x4.add (local.get $tot) (f32x4.mul (local.get $acc) (v128.load (local.get $sp)))))
        (local.set $sp (i32.add (local.get $sp) (i32.const 16)))
        (local.set $g (i32.sub (local.get $g) (i32.const 1)))
        (br_if $groups (local.get $g)))
      (v128.store (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))) (local.get $tot))
      (local.set $n (i32.add (local.get $n) (i32.const 4)))
      (br_if $quads (i32.lt_u (local.get $n) (local.get $n1)))))

  ;; int4 decode: w [Np/4][kp/32][4][16] (row quads interleaved; chunk layout above), s, z [Np/4][nG][4] u8, xq, sx, xsum [kp/bs] i32 (Σ xq per
  ;; block), y [Np]. The zero point comes out of the exact integer: I = Σ q xq - z Σ xq.
  (func (export "i4d_mv")
    (param $w i32) (param $s i32) (param $z i32) (param $xq i32) (param $sx i32) (param $xsum i32) (param $y i32)
    (param $ng i32) (param $nbg i32) (param $bs i32)
    (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $tp v128) (local $tq v128) (local $n i32) (local $wp i32) (local $sp i32) (local $zp i32) (local $xp i32) (local $xs i32) (local $xt i32)
    (local $be i32) (local $g i32) (local $b i32)
        (local $m v128) (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128) (local $v v128) (local $z4 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $acc v128) (local $tot v128)
    (if (i32.ge_u (local.get $n0) (local.get $n1)) (then (return)))
    (local.set $m (v128.const i16x8 15 15 15 15 15 15 15 15))
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
            (local.set $x0 (v128.load (local.get $xp)))
            (local.set $x1 (v128.load offset=16 (local.get $xp)))
            (local.set $x2 (v128.load offset=32 (local.get $xp)))
            (local.set $x3 (v128.load offset=48 (local.get $xp)))
            (local.set $v (v128.load (local.get $wp)))
            (local.set $a0 (i32x4.add (local.get $a0) (i32x4.add
              (i32x4.add (i32x4.dot_i16x8_s (v128.and (local.get $v) (local.get $m)) (local.get $x0))
                         (i32x4.dot_i16x8_s (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m)) (local.get $x1)))
              (i32x4.add (i32x4.dot_i16x8_s (v128.and (i16x8.shr_u (local.get $v) (i32.const 8)) (local.get $m)) (local.get $x2))
                         (i32x4.dot_i16x8_s (i16x8.shr_u (local.get $v) (i32.const 12)) (local.get $x3))))))
            (local.set $v (v128.load offset=16 (local.get $wp)))
            (local.set $a1 (i32x4.add (local.get $a1) (i32x4.add
              (i32x4.add (i32x4.dot_i16x8_s (v128.and (local.get $v) (local.get $m)) (local.get $x0))
                         (i32x4.dot_i16x8_s (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m)) (local.get $x1)))
              (i32x4.add (i32x4.dot_i16x8_s (v128.and (i16x8.shr_u (local.get $v) (i32.const 8)) (local.get $m)) (local.get $x2))
                         (i32x4.dot_i16x8_s (i16x8.shr_u (local.get $v) (i32.const 12)) (local.get $x3))))))
            (local.set $v (v128.load offset=32 (local.get $wp)))
            (local.set $a2 (i32x4.add (local.get $a2) (i32x4.add
              (i32x4.add (i32x4.dot_i16x8_s (v128.and (local.get $v) (local.get $m)) (local.get $x0))
                         (i32x4.dot_i16x8_s (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m)) (local.get $x1)))
              (i32x4.add (i32x4.dot_i16x8_s (v128.and (i16x8.shr_u (local.get $v) (i32.const 8)) (local.get $m)) (local.get $x2))
                         (i32x4.dot_i16x8_s (i16x8.shr_u (local.get $v) (i32.const 12)) (local.get $x3))))))
            (local.set $v (v128.load offset=48 (local.get $wp)))
            (local.set $a3 (i32x4.add (local.get $a3) (i32x4.add
              (i32x4.add (i32x4.dot_i16x8_s (v128.and (local.get $v) (local.get $m)) (local.get $x0))
                         (i32x4.dot_i16x8_s (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m)) (local.get $x1)))
              (i32x4.add (i32x4.dot_i16x8_s (v128.and (i16x8.shr_u (local.get $v) (i32.const 8)) (local.get $m)) (local.get $x2))
                         (i32x4.dot_i16x8_s (i16x8.shr_u (local.get $v) (i32.const 12)) (local.get $x3))))))
            (local.set $wp (i32.add (local.get $wp) (i32.const 64)))
            (local.set $xp (i32.add (local.get $xp) (i32.const 64)))
            (br_if $k (i32.lt_u (local.get $wp) (local.get $be))))
          (local.set $acc (f32x4.add (local.get $acc)
            (f32x4.mul (f32x4.convert_i32x4_s
                         (i32x4.sub (i32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.tee $tp (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a0) (local.get $a1)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1)))) (local.tee $tq (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a2) (local.get $a3)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3))))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $tp) (local.get $tq)))
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

  ;; Prefill activations: rows [r0, r1) of x (f32 [t, k]; rows t.. of the last token quad are zero) gathered by g
  ;; (i32 [kp], -1 = pad) and quantized per block of bs (a multiple of 32) with sx = f32(absmax / qmax) and
  ;; xq = round-half-up(x qmax / absmax) in double: kernels/dot-quant.ts quantizeRow's arithmetic, its definition (the
  ;; JavaScript kernel this replaces computed Math.round as floor(v + 0.5), less one where that - 0.5 > v; so does this,
  ;; two f64 lanes at a time). Written straight into the token-quad layout xq [T4/4][kp/8][4][8] i16, sx [T4/4][nb][4]
  ;; f32. absmax is f32.max over |x| (NaN-propagating, as the reference's NaN test); a NaN or infinite absmax makes
  ;; the block's scale NaN and its xq 0; absmax 0 (and rows >= t): scale 0, xq 0.
  ;; x[xr + idx[i..i+4)] as f32 lanes, idx at gp (pads, idx -1: 0). (A one-load path for indices that run on
  ;; measured no faster: the divisions in $quant8 set the pace.)
  (func $gather4 (param $xr i32) (param $gp i32) (result v128)
    (local $s i32) (local $v v128) (local $iv v128)
    (local.set $iv (v128.load (local.get $gp)))
    (local.set $s (i32x4.extract_lane 0 (local.get $iv)))
    ;; pad (-1): 0, read from the row's first element (a valid address) and dropped
    (local.set $v (f32x4.splat (select (f32.load (i32.add (local.get $xr) (i32.shl (select (local.get $s) (i32.const 0) (i32.ge_s (local.get $s) (i32.const 0))) (i32.const 2))))
      (f32.const 0) (i32.ge_s (local.get $s) (i32.const 0)))))
    (local.set $s (i32x4.extract_lane 1 (local.get $iv)))
    (local.set $v (f32x4.replace_lane 1 (local.get $v) (select (f32.load (i32.add (local.get $xr) (i32.shl (select (local.get $s) (i32.const 0) (i32.ge_s (local.get $s) (i32.const 0))) (i32.const 2))))
      (f32.const 0) (i32.ge_s (local.get $s) (i32.const 0)))))
    (local.set $s (i32x4.extract_lane 2 (local.get $iv)))
    (local.set $v (f32x4.replace_lane 2 (local.get $v) (select (f32.load (i32.add (local.get $xr) (i32.shl (select (local.get $s) (i32.const 0) (i32.ge_s (local.get $s) (i32.const 0))) (i32.const 2))))
      (f32.const 0) (i32.ge_s (local.get $s) (i32.const 0)))))
    (local.set $s (i32x4.extract_lane 3 (local.get $iv)))
    (f32x4.replace_lane 3 (local.get $v) (select (f32.load (i32.add (local.get $xr) (i32.shl (select (local.get $s) (i32.const 0) (i32.ge_s (local.get $s) (i32.const 0))) (i32.const 2))))
      (f32.const 0) (i32.ge_s (local.get $s) (i32.const 0)))))

  ;; round-half-up((x qmax) / amax) in double of the f32 lanes of lo and hi, as eight i16 lanes (the reference's
  ;; arithmetic: floor(v + 0.5), less one where that - 0.5 > v).
  (func $quant8 (param $lo v128) (param $hi v128) (param $qm v128) (param $am v128) (result v128)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128)
    (local.set $v0 (f64x2.div (f64x2.mul (f64x2.promote_low_f32x4 (local.get $lo)) (local.get $qm)) (local.get $am)))
    (local.set $v1 (f64x2.div (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $lo) (local.get $lo))) (local.get $qm)) (local.get $am)))
    (local.set $v2 (f64x2.div (f64x2.mul (f64x2.promote_low_f32x4 (local.get $hi)) (local.get $qm)) (local.get $am)))
    (local.set $v3 (f64x2.div (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $hi) (local.get $hi))) (local.get $qm)) (local.get $am)))
    (local.set $q0 (f64x2.floor (f64x2.add (local.get $v0) (v128.const f64x2 0.5 0.5))))
    (local.set $q1 (f64x2.floor (f64x2.add (local.get $v1) (v128.const f64x2 0.5 0.5))))
    (local.set $q2 (f64x2.floor (f64x2.add (local.get $v2) (v128.const f64x2 0.5 0.5))))
    (local.set $q3 (f64x2.floor (f64x2.add (local.get $v3) (v128.const f64x2 0.5 0.5))))
    (local.set $q0 (v128.bitselect (f64x2.sub (local.get $q0) (v128.const f64x2 1 1)) (local.get $q0) (f64x2.gt (f64x2.sub (local.get $q0) (v128.const f64x2 0.5 0.5)) (local.get $v0))))
    (local.set $q1 (v128.bitselect (f64x2.sub (local.get $q1) (v128.const f64x2 1 1)) (local.get $q1) (f64x2.gt (f64x2.sub (local.get $q1) (v128.const f64x2 0.5 0.5)) (local.get $v1))))
    (local.set $q2 (v128.bitselect (f64x2.sub (local.get $q2) (v128.const f64x2 1 1)) (local.get $q2) (f64x2.gt (f64x2.sub (local.get $q2) (v128.const f64x2 0.5 0.5)) (local.get $v2))))
    (local.set $q3 (v128.bitselect (f64x2.sub (local.get $q3) (v128.const f64x2 1 1)) (local.get $q3) (f64x2.gt (f64x2.sub (local.get $q3) (v128.const f64x2 0.5 0.5)) (local.get $v3))))
    (i16x8.narrow_i32x4_s
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
        (i32x4.trunc_sat_f64x2_s_zero (local.get $q0)) (i32x4.trunc_sat_f64x2_s_zero (local.get $q1)))
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
        (i32x4.trunc_sat_f64x2_s_zero (local.get $q2)) (i32x4.trunc_sat_f64x2_s_zero (local.get $q3)))))

  (func (export "quant_rows")
    (param $x i32) (param $k i32) (param $g i32) (param $kp i32) (param $bs i32) (param $qmax i32) (param $xq i32)
    (param $sx i32) (param $t i32) (param $r0 i32) (param $r1 i32) (param $scr i32)
    (local $r i32) (local $b i32) (local $nb i32) (local $xr i32) (local $qr i32) (local $sr i32) (local $gp i32)
    (local $ge i32) (local $op i32) (local $s i32) (local $amax f32) (local $lo v128) (local $hi v128) (local $qm v128)
    (local $am v128) (local $a v128)
    (if (i32.ge_u (local.get $r0) (local.get $r1)) (then (return)))
    (local.set $nb (i32.div_u (local.get $kp) (local.get $bs)))
    (local.set $qm (f64x2.splat (f64.convert_i32_s (local.get $qmax))))
    (local.set $r (local.get $r0))
    (loop $rows
      (local.set $xr (i32.add (local.get $x) (i32.shl (i32.mul (local.get $r) (local.get $k)) (i32.const 2))))
      ;; element i of row r at ((r >> 2) kp 4 + (r & 3) 8 + (i & ~7) 4 + (i & 7)) i16; scale of block b at ((r >> 2) nb 4 + (r & 3) + 4 b) f32
      (local.set $qr (i32.add (local.get $xq) (i32.shl (i32.add (i32.shl (i32.mul (i32.shr_u (local.get $r) (i32.const 2)) (local.get $kp)) (i32.const 2))
        (i32.shl (i32.and (local.get $r) (i32.const 3)) (i32.const 3))) (i32.const 1))))
      (local.set $sr (i32.add (local.get $sx) (i32.shl (i32.add (i32.shl (i32.mul (i32.shr_u (local.get $r) (i32.const 2)) (local.get $nb)) (i32.const 2))
        (i32.and (local.get $r) (i32.const 3))) (i32.const 2))))
      (local.set $gp (local.get $g))
      (local.set $op (local.get $qr))
      (local.set $b (i32.const 0))
      (loop $blocks
        (local.set $ge (i32.add (local.get $gp) (i32.shl (local.get $bs) (i32.const 2))))
        (local.set $amax (f32.const 0))
        (if (i32.lt_u (local.get $r) (local.get $t))
          (then
            (local.set $a (v128.const i32x4 0 0 0 0))
            (local.set $s (local.get $gp))
            (loop $absmax
              (local.set $a (f32x4.max (local.get $a) (f32x4.abs (call $gather4 (local.get $xr) (local.get $s)))))
              (local.set $s (i32.add (local.get $s) (i32.const 16)))
              (br_if $absmax (i32.lt_u (local.get $s) (local.get $ge))))
            (local.set $amax (f32.max (f32.max (f32x4.extract_lane 0 (local.get $a)) (f32x4.extract_lane 1 (local.get $a)))
              (f32.max (f32x4.extract_lane 2 (local.get $a)) (f32x4.extract_lane 3 (local.get $a)))))))
        (if (i32.and (f32.gt (local.get $amax) (f32.const 0)) (f32.lt (local.get $amax) (f32.const inf)))
          (then
            (local.set $am (f64x2.splat (f64.promote_f32 (local.get $amax))))
            (local.set $s (local.get $gp))
            (loop $eights
              (local.set $lo (call $gather4 (local.get $xr) (local.get $s)))
              (local.set $hi (call $gather4 (local.get $xr) (i32.add (local.get $s) (i32.const 16))))
              (v128.store (local.get $op) (call $quant8 (local.get $lo) (local.get $hi) (local.get $qm) (local.get $am)))
              (local.set $op (i32.add (local.get $op) (i32.const 64)))
              (local.set $s (i32.add (local.get $s) (i32.const 32)))
              (br_if $eights (i32.lt_u (local.get $s) (local.get $ge))))
            (f32.store (local.get $sr) (f32.demote_f64 (f64.div (f64.promote_f32 (local.get $amax)) (f64.convert_i32_s (local.get $qmax))))))
          (else
            (local.set $s (local.get $gp))
            (loop $zeros
              (v128.store (local.get $op) (v128.const i32x4 0 0 0 0))
              (local.set $op (i32.add (local.get $op) (i32.const 64)))
              (local.set $s (i32.add (local.get $s) (i32.const 32)))
              (br_if $zeros (i32.lt_u (local.get $s) (local.get $ge))))
            (f32.store (local.get $sr) (select (f32.const 0) (f32.const nan) (f32.eq (local.get $amax) (f32.const 0))))))
        (local.set $gp (local.get $ge))
        (local.set $sr (i32.add (local.get $sr) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br_if $blocks (i32.lt_u (local.get $b) (local.get $nb))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $r) (local.get $r1)))))

  ;; Prefill. x: token quads [T4/4][kp/8][4 tokens][8] i16, sx [T4/4][kp/bs][4] f32; y [Np][T4] f32 (the caller
  ;; transposes). Rows are widened 8 at a time into the thread's scratch as exact i16 (q, or q - z for int4), then
  ;; run as 2 rows x 4 tokens tiles (8 i32x4 accumulators, one pmaddwd each per 8 weights): per (row, token) the
  ;; same integers and the same f32 sequence as decode and the reference, so prefill == decode bit for bit.

  ;; Two widened rows (wa, wa + rs) x token quad (xq, sx); scale pointers sa, sb (stride 16 per group).
  (func $dtile
    (param $wa i32) (param $rs i32) (param $xq i32) (param $sx i32) (param $sa i32) (param $sb i32)
    (param $ng i32) (param $nbg i32) (param $bs i32) (param $ya i32) (param $yb i32)
    (local $tp v128) (local $tq v128) (local $wp i32) (local $xp i32) (local $xs i32) (local $be i32) (local $g i32) (local $b i32)
    (local $w0 v128) (local $w1 v128) (local $xv v128)
    (local $c00 v128) (local $c01 v128) (local $c02 v128) (local $c03 v128)
    (local $c10 v128) (local $c11 v128) (local $c12 v128) (local $c13 v128)
    (local $acc0 v128) (local $acc1 v128) (local $tot0 v128) (local $tot1 v128) (local $s4 v128)
    (local.set $wp (local.get $wa))
    (local.set $xp (local.get $xq))
    (local.set $xs (local.get $sx))
    (local.set $tot0 (v128.const i32x4 0 0 0 0))
    (local.set $tot1 (v128.const i32x4 0 0 0 0))
    (local.set $g (local.get $ng))
    (loop $groups
      (local.set $acc0 (v128.const i32x4 0 0 0 0))
      (local.set $acc1 (v128.const i32x4 0 0 0 0))
      (local.set $b (local.get $nbg))
      (loop $blocks
        (local.set $c00 (v128.const i32x4 0 0 0 0))
        (local.set $c01 (v128.const i32x4 0 0 0 0))
        (local.set $c02 (v128.const i32x4 0 0 0 0))
        (local.set $c03 (v128.const i32x4 0 0 0 0))
        (local.set $c10 (v128.const i32x4 0 0 0 0))
        (local.set $c11 (v128.const i32x4 0 0 0 0))
        (local.set $c12 (v128.const i32x4 0 0 0 0))
        (local.set $c13 (v128.const i32x4 0 0 0 0))
        (local.set $be (i32.add (local.get $wp) (i32.shl (local.get $bs) (i32.const 1))))
        (loop $k
          (local.set $w0 (v128.load (local.get $wp)))
          (local.set $w1 (v128.load (i32.add (local.get $wp) (local.get $rs))))
          (local.set $xv (v128.load (local.get $xp)))
          (local.set $c00 (i32x4.add (local.get $c00) (i32x4.dot_i16x8_s (local.get $w0) (local.get $xv))))
          (local.set $c10 (i32x4.add (local.get $c10) (i32x4.dot_i16x8_s (local.get $w1) (local.get $xv))))
          (local.set $xv (v128.load offset=16 (local.get $xp)))
          (local.set $c01 (i32x4.add (local.get $c01) (i32x4.dot_i16x8_s (local.get $w0) (local.get $xv))))
          (local.set $c11 (i32x4.add (local.get $c11) (i32x4.dot_i16x8_s (local.get $w1) (local.get $xv))))
          (local.set $xv (v128.load offset=32 (local.get $xp)))
          (local.set $c02 (i32x4.add (local.get $c02) (i32x4.dot_i16x8_s (local.get $w0) (local.get $xv))))
          (local.set $c12 (i32x4.add (local.get $c12) (i32x4.dot_i16x8_s (local.get $w1) (local.get $xv))))
          (local.set $xv (v128.load offset=48 (local.get $xp)))
          (local.set $c03 (i32x4.add (local.get $c03) (i32x4.dot_i16x8_s (local.get $w0) (local.get $xv))))
          (local.set $c13 (i32x4.add (local.get $c13) (i32x4.dot_i16x8_s (local.get $w1) (local.get $xv))))
          (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
          (local.set $xp (i32.add (local.get $xp) (i32.const 64)))
          (br_if $k (i32.lt_u (local.get $wp) (local.get $be))))
        (local.set $s4 (v128.load (local.get $xs)))
        (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (f32x4.convert_i32x4_s
          (i32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.tee $tp (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c00) (local.get $c01)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c00) (local.get $c01)))) (local.tee $tq (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c02) (local.get $c03)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c02) (local.get $c03))))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $tp) (local.get $tq)))) (local.get $s4))))
        (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (f32x4.convert_i32x4_s
          (i32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.tee $tp (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c10) (local.get $c11)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c10) (local.get $c11)))) (local.tee $tq (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c12) (local.get $c13)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c12) (local.get $c13))))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $tp) (local.get $tq)))) (local.get $s4))))
        (local.set $xs (i32.add (local.get $xs) (i32.const 16)))
        (local.set $b (i32.sub (local.get $b) (i32.const 1)))
        (br_if $blocks (local.get $b)))
      (local.set $tot0 (f32x4.add (local.get $tot0) (f32x4.mul (local.get $acc0) (v128.load32_splat (local.get $sa)))))
      (local.set $tot1 (f32x4.add (local.get $tot1) (f32x4.mul (local.get $acc1) (v128.load32_splat (local.get $sb)))))
      (local.set $sa (i32.add (local.get $sa) (i32.const 16)))
      (local.set $sb (i32.add (local.get $sb) (i32.const 16)))
      (local.set $g (i32.sub (local.get $g) (i32.const 1)))
      (br_if $groups (local.get $g)))
    (v128.store (local.get $ya) (local.get $tot0))
    (v128.store (local.get $yb) (local.get $tot1)))

  ;; Rows [n, n + 8) widened at scr (row stride rs bytes) against every token quad.
  (func $dblock
    (param $n i32) (param $s i32) (param $xq i32) (param $sx i32) (param $y i32)
    (param $ng i32) (param $nbg i32) (param $bs i32) (param $t4 i32) (param $scr i32) (param $rs i32)
    (local $tq i32) (local $r i32) (local $kp i32) (local $sa i32) (local $sb i32)
    (local.set $kp (i32.mul (i32.mul (local.get $ng) (local.get $nbg)) (local.get $bs)))
    (local.set $tq (i32.const 0))
    (loop $quads
      (local.set $r (i32.const 0))
      (loop $pairs
        ;; scale of row n + r, group 0: s + (((n + r) >> 2) * ng * 4 + ((n + r) & 3)) * 4
        (local.set $sa (i32.add (local.get $s) (i32.shl (i32.add
          (i32.shl (i32.mul (i32.shr_u (i32.add (local.get $n) (local.get $r)) (i32.const 2)) (local.get $ng)) (i32.const 2))
          (i32.and (i32.add (local.get $n) (local.get $r)) (i32.const 3))) (i32.const 2))))
        (local.set $sb (i32.add (local.get $s) (i32.shl (i32.add
          (i32.shl (i32.mul (i32.shr_u (i32.add (i32.add (local.get $n) (local.get $r)) (i32.const 1)) (i32.const 2)) (local.get $ng)) (i32.const 2))
          (i32.and (i32.add (i32.add (local.get $n) (local.get $r)) (i32.const 1)) (i32.const 3))) (i32.const 2))))
        (call $dtile
          (i32.add (local.get $scr) (i32.mul (local.get $r) (local.get $rs))) (local.get $rs)
          (i32.add (local.get $xq) (i32.mul (local.get $tq) (i32.shl (local.get $kp) (i32.const 3))))
          (i32.add (local.get $sx) (i32.mul (local.get $tq) (i32.shl (i32.mul (local.get $ng) (local.get $nbg)) (i32.const 4))))
          (local.get $sa) (local.get $sb) (local.get $ng) (local.get $nbg) (local.get $bs)
          (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (i32.add (local.get $n) (local.get $r)) (local.get $t4))
                                                    (i32.shl (local.get $tq) (i32.const 2))) (i32.const 2)))
          (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (i32.add (i32.add (local.get $n) (local.get $r)) (i32.const 1)) (local.get $t4))
                                                    (i32.shl (local.get $tq) (i32.const 2))) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 2)))
        (br_if $pairs (i32.lt_u (local.get $r) (i32.const 8))))
      (local.set $tq (i32.add (local.get $tq) (i32.const 1)))
      (br_if $quads (i32.lt_u (i32.shl (local.get $tq) (i32.const 2)) (local.get $t4)))))

  ;; int8 prefill: w (interleaved as i8d_mv), s, xq/sx token quads, y [Np][T4]; scr holds 8 rows of kp i16.
  (func (export "i8d_mm")
    (param $w i32) (param $s i32) (param $xq i32) (param $sx i32) (param $y i32)
    (param $ng i32) (param $nbg i32) (param $bs i32) (param $t4 i32)
    (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $n i32) (local $kp i32) (local $rs i32) (local $wp i32) (local $we i32) (local $op i32) (local $c i32) (local $v v128)
    (local.set $kp (i32.mul (i32.mul (local.get $ng) (local.get $nbg)) (local.get $bs)))
    (local.set $rs (i32.shl (local.get $kp) (i32.const 1)))
    (local.set $n (local.get $n0))
    (block $done
      (loop $rowblocks
        (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))
        ;; two interleaved quads [kp/32][4 rows][32 bytes] -> scratch rows (stride rs) of kp i16
        (local.set $wp (i32.add (local.get $w) (i32.mul (local.get $n) (local.get $kp))))
        (local.set $we (i32.add (local.get $wp) (i32.shl (local.get $kp) (i32.const 3))))
        (local.set $op (local.get $scr))
        (local.set $c (i32.shr_u (local.get $kp) (i32.const 5)))
        (loop $widen
          (local.set $v (v128.load (local.get $wp)))
          (v128.store (local.get $op) (i16x8.extend_low_i8x16_s (local.get $v)))
          (v128.store offset=16 (local.get $op) (i16x8.extend_high_i8x16_s (local.get $v)))
          (local.set $v (v128.load offset=16 (local.get $wp)))
          (v128.store offset=32 (local.get $op) (i16x8.extend_low_i8x16_s (local.get $v)))
          (v128.store offset=48 (local.get $op) (i16x8.extend_high_i8x16_s (local.get $v)))
          (local.set $v (v128.load offset=32 (local.get $wp)))
          (v128.store (i32.add (local.get $op) (local.get $rs)) (i16x8.extend_low_i8x16_s (local.get $v)))
          (v128.store offset=16 (i32.add (local.get $op) (local.get $rs)) (i16x8.extend_high_i8x16_s (local.get $v)))
          (local.set $v (v128.load offset=48 (local.get $wp)))
          (v128.store offset=32 (i32.add (local.get $op) (local.get $rs)) (i16x8.extend_low_i8x16_s (local.get $v)))
          (v128.store offset=48 (i32.add (local.get $op) (local.get $rs)) (i16x8.extend_high_i8x16_s (local.get $v)))
          (local.set $v (v128.load offset=64 (local.get $wp)))
          (v128.store (i32.add (local.get $op) (i32.shl (local.get $rs) (i32.const 1))) (i16x8.extend_low_i8x16_s (local.get $v)))
          (v128.store offset=16 (i32.add (local.get $op) (i32.shl (local.get $rs) (i32.const 1))) (i16x8.extend_high_i8x16_s (local.get $v)))
          (local.set $v (v128.load offset=80 (local.get $wp)))
          (v128.store offset=32 (i32.add (local.get $op) (i32.shl (local.get $rs) (i32.const 1))) (i16x8.extend_low_i8x16_s (local.get $v)))
          (v128.store offset=48 (i32.add (local.get $op) (i32.shl (local.get $rs) (i32.const 1))) (i16x8.extend_high_i8x16_s (local.get $v)))
          (local.set $v (v128.load offset=96 (local.get $wp)))
          (v128.store (i32.add (local.get $op) (i32.mul (local.get $rs) (i32.const 3))) (i16x8.extend_low_i8x16_s (local.get $v)))
          (v128.store offset=16 (i32.add (local.get $op) (i32.mul (local.get $rs) (i32.const 3))) (i16x8.extend_high_i8x16_s (local.get $v)))
          (local.set $v (v128.load offset=112 (local.get $wp)))
          (v128.store offset=32 (i32.add (local.get $op) (i32.mul (local.get $rs) (i32.const 3))) (i16x8.extend_low_i8x16_s (local.get $v)))
          (v128.store offset=48 (i32.add (local.get $op) (i32.mul (local.get $rs) (i32.const 3))) (i16x8.extend_high_i8x16_s (local.get $v)))
          (local.set $wp (i32.add (local.get $wp) (i32.const 128)))
          (local.set $op (i32.add (local.get $op) (i32.const 64)))
          (local.set $c (i32.sub (local.get $c) (i32.const 1)))
          (if (i32.eqz (local.get $c)) (then
            ;; end of the first quad's rows: continue at scratch row 4
            (local.set $c (i32.shr_u (local.get $kp) (i32.const 5)))
            (local.set $op (i32.add (local.get $op) (i32.mul (local.get $rs) (i32.const 3))))))
          (br_if $widen (i32.lt_u (local.get $wp) (local.get $we))))
        (call $dblock (local.get $n) (local.get $s) (local.get $xq) (local.get $sx) (local.get $y)
          (local.get $ng) (local.get $nbg) (local.get $bs) (local.get $t4) (local.get $scr) (i32.shl (local.get $kp) (i32.const 1)))
        (local.set $n (i32.add (local.get $n) (i32.const 8)))
        (br $rowblocks))))

  ;; int4 prefill: w (interleaved as i4d_mv), s, z [Np/4][nG][4] u8, xq/sx token quads, y [Np][T4]; scr: 8 rows of kp i16 (q - z).
  (func (export "i4d_mm")
    (param $w i32) (param $s i32) (param $z i32) (param $xq i32) (param $sx i32) (param $y i32)
    (param $ng i32) (param $nbg i32) (param $bs i32) (param $t4 i32)
    (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $n i32) (local $r i32) (local $g i32) (local $kp i32) (local $gb i32) (local $wp i32) (local $ge i32) (local $op i32)
    (local $v v128) (local $zv v128) (local $m v128)
    (local.set $m (v128.const i16x8 15 15 15 15 15 15 15 15))
    (local.set $kp (i32.mul (i32.mul (local.get $ng) (local.get $nbg)) (local.get $bs)))
    (local.set $gb (i32.shr_u (i32.mul (local.get $nbg) (local.get $bs)) (i32.const 1)))
    (local.set $n (local.get $n0))
    (block $done
      (loop $rowblocks
        (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))
        (local.set $op (local.get $scr))
        (local.set $r (i32.const 0))
        (loop $rows
          ;; row n + r in the interleaved layout: its quad's base, then its 16-byte slot in every 64-byte chunk group
          (local.set $wp (i32.add (local.get $w) (i32.add
            (i32.mul (i32.and (i32.add (local.get $n) (local.get $r)) (i32.const -4)) (i32.shr_u (local.get $kp) (i32.const 1)))
            (i32.shl (i32.and (local.get $r) (i32.const 3)) (i32.const 4)))))
          (local.set $g (i32.const 0))
          (loop $groups
            ;; zero point of row n + r, group g
            (local.set $zv (i16x8.splat (i32.load8_u (i32.add (local.get $z) (i32.add
              (i32.shl (i32.add (i32.mul (i32.shr_u (i32.add (local.get $n) (local.get $r)) (i32.const 2)) (local.get $ng)) (local.get $g)) (i32.const 2))
              (i32.and (i32.add (local.get $n) (local.get $r)) (i32.const 3)))))))
            (local.set $ge (i32.add (local.get $wp) (i32.shl (local.get $gb) (i32.const 2))))
            (loop $chunks
              (local.set $v (v128.load (local.get $wp)))
              (v128.store (local.get $op) (i16x8.sub (v128.and (local.get $v) (local.get $m)) (local.get $zv)))
              (v128.store offset=16 (local.get $op) (i16x8.sub (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m)) (local.get $zv)))
              (v128.store offset=32 (local.get $op) (i16x8.sub (v128.and (i16x8.shr_u (local.get $v) (i32.const 8)) (local.get $m)) (local.get $zv)))
              (v128.store offset=48 (local.get $op) (i16x8.sub (i16x8.shr_u (local.get $v) (i32.const 12)) (local.get $zv)))
              (local.set $wp (i32.add (local.get $wp) (i32.const 64)))
              (local.set $op (i32.add (local.get $op) (i32.const 64)))
              (br_if $chunks (i32.lt_u (local.get $wp) (local.get $ge))))
            (local.set $g (i32.add (local.get $g) (i32.const 1)))
            (br_if $groups (i32.lt_u (local.get $g) (local.get $ng))))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $rows (i32.lt_u (local.get $r) (i32.const 8))))
        (call $dblock (local.get $n) (local.get $s) (local.get $xq) (local.get $sx) (local.get $y)
          (local.get $ng) (local.get $nbg) (local.get $bs) (local.get $t4) (local.get $scr) (i32.shl (local.get $kp) (i32.const 1)))
        (local.set $n (i32.add (local.get $n) (i32.const 8)))
        (br $rowblocks))))


  ;; int4 prefill for the 8-bit-activation layout (relaxed.wat i4q_mv: byte i = weights i | 16 + i << 4), so a
  ;; handle packed for i4q_mv also prefills; x holds the 8-bit activations as i16. Otherwise i4d_mm.
  ;; w (interleaved as i4d_mv), s, z [Np/4][nG][4] u8, xq/sx token quads, y [Np][T4]; scr: 8 rows of kp i16 (q - z).
  (func (export "i4q_mm")
    (param $w i32) (param $s i32) (param $z i32) (param $xq i32) (param $sx i32) (param $y i32)
    (param $ng i32) (param $nbg i32) (param $bs i32) (param $t4 i32)
    (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $n i32) (local $r i32) (local $g i32) (local $kp i32) (local $gb i32) (local $wp i32) (local $ge i32) (local $op i32)
    (local $v v128) (local $zv v128) (local $m v128) (local $m8 v128) (local $lo v128) (local $hi v128)
    (local.set $m8 (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (local.set $kp (i32.mul (i32.mul (local.get $ng) (local.get $nbg)) (local.get $bs)))
    (local.set $gb (i32.shr_u (i32.mul (local.get $nbg) (local.get $bs)) (i32.const 1)))
    (local.set $n (local.get $n0))
    (block $done
      (loop $rowblocks
        (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))
        (local.set $op (local.get $scr))
        (local.set $r (i32.const 0))
        (loop $rows
          ;; row n + r in the interleaved layout: its quad's base, then its 16-byte slot in every 64-byte chunk group
          (local.set $wp (i32.add (local.get $w) (i32.add
            (i32.mul (i32.and (i32.add (local.get $n) (local.get $r)) (i32.const -4)) (i32.shr_u (local.get $kp) (i32.const 1)))
            (i32.shl (i32.and (local.get $r) (i32.const 3)) (i32.const 4)))))
          (local.set $g (i32.const 0))
          (loop $groups
            ;; zero point of row n + r, group g
            (local.set $zv (i16x8.splat (i32.load8_u (i32.add (local.get $z) (i32.add
              (i32.shl (i32.add (i32.mul (i32.shr_u (i32.add (local.get $n) (local.get $r)) (i32.const 2)) (local.get $ng)) (local.get $g)) (i32.const 2))
              (i32.and (i32.add (local.get $n) (local.get $r)) (i32.const 3)))))))
            (local.set $ge (i32.add (local.get $wp) (i32.shl (local.get $gb) (i32.const 2))))
            (loop $chunks
              (local.set $v (v128.load (local.get $wp)))
              (local.set $lo (v128.and (local.get $v) (local.get $m8)))
              (local.set $hi (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m8)))
              (v128.store (local.get $op) (i16x8.sub (i16x8.extend_low_i8x16_u (local.get $lo)) (local.get $zv)))
              (v128.store offset=16 (local.get $op) (i16x8.sub (i16x8.extend_high_i8x16_u (local.get $lo)) (local.get $zv)))
              (v128.store offset=32 (local.get $op) (i16x8.sub (i16x8.extend_low_i8x16_u (local.get $hi)) (local.get $zv)))
              (v128.store offset=48 (local.get $op) (i16x8.sub (i16x8.extend_high_i8x16_u (local.get $hi)) (local.get $zv)))
              (local.set $wp (i32.add (local.get $wp) (i32.const 64)))
              (local.set $op (i32.add (local.get $op) (i32.const 64)))
              (br_if $chunks (i32.lt_u (local.get $wp) (local.get $ge))))
            (local.set $g (i32.add (local.get $g) (i32.const 1)))
            (br_if $groups (i32.lt_u (local.get $g) (local.get $ng))))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $rows (i32.lt_u (local.get $r) (i32.const 8))))
        (call $dblock (local.get $n) (local.get $s) (local.get $xq) (local.get $sx) (local.get $y)
          (local.get $ng) (local.get $nbg) (local.get $bs) (local.get $t4) (local.get $scr) (i32.shl (local.get $kp) (i32.const 1)))
        (local.set $n (i32.add (local.get $n) (i32.const 8)))
        (br $rowblocks))))

  ;; ---------------------------------------------------------------- bf16 (weights at stored precision)
  ;;
  ;; bf16 W [N, kp] u16 (kp = roundup(K, 16), pads 0). Widening is exact: a constant shuffle interleaves two zero
  ;; bytes below each u16 (V8: one punpck), giving the f32 whose top half the bf16 is. Then exactly f32_mv's
  ;; (resp. f32_mm's) operations in the same order, so results are bit-identical to f32 weights widened at load.

  ;; bf16 decode: as f32_mv (four accumulators over 16-element steps), 32 weight bytes per step.
  (func (export "bf16_mv")
    (param $w i32) (param $x i32) (param $y i32) (param $kp i32)
    (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $n i32) (local $wp i32) (local $xp i32) (local $xe i32) (local $v v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (if (i32.ge_u (local.get $n0) (local.get $n1)) (then (return)))
    (local.set $n (local.get $n0))
    (local.set $wp (i32.add (local.get $w) (i32.mul (local.get $n0) (i32.shl (local.get $kp) (i32.const 1)))))
    (local.set $xe (i32.add (local.get $x) (i32.shl (local.get $kp) (i32.const 2))))
    (loop $rows
      (local.set $a0 (v128.const i32x4 0 0 0 0))
      (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0))
      (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $xp (local.get $x))
      (loop $k
        (local.set $v (v128.load (local.get $wp)))
        (local.set $a0 (f32x4.add (local.get $a0)
          (f32x4.mul (i8x16.shuffle 16 16 0 1 16 16 2 3 16 16 4 5 16 16 6 7 (local.get $v) (v128.const i32x4 0 0 0 0))
                     (v128.load (local.get $xp)))))
        (local.set $a1 (f32x4.add (local.get $a1)
          (f32x4.mul (i8x16.shuffle 16 16 8 9 16 16 10 11 16 16 12 13 16 16 14 15 (local.get $v) (v128.const i32x4 0 0 0 0))
                     (v128.load offset=16 (local.get $xp)))))
        (local.set $v (v128.load offset=16 (local.get $wp)))
        (local.set $a2 (f32x4.add (local.get $a2)
          (f32x4.mul (i8x16.shuffle 16 16 0 1 16 16 2 3 16 16 4 5 16 16 6 7 (local.get $v) (v128.const i32x4 0 0 0 0))
                     (v128.load offset=32 (local.get $xp)))))
        (local.set $a3 (f32x4.add (local.get $a3)
          (f32x4.mul (i8x16.shuffle 16 16 8 9 16 16 10 11 16 16 12 13 16 16 14 15 (local.get $v) (v128.const i32x4 0 0 0 0))
                     (v128.load offset=48 (local.get $xp)))))
        (local.set $wp (i32.add (local.get $wp) (i32.const 32)))
        (local.set $xp (i32.add (local.get $xp) (i32.const 64)))
        (br_if $k (i32.lt_u (local.get $xp) (local.get $xe))))
      (f32.store (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2)))
        (call $hsum (f32x4.add (f32x4.add (local.get $a0) (local.get $a1))
                               (f32x4.add (local.get $a2) (local.get $a3)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $n) (local.get $n1)))))

  ;; bf16 prefill: rows widened 8 at a time into scratch (f32), then f32_mm's tiles.
  (func (export "bf16_mm")
    (param $w i32) (param $x i32) (param $y i32) (param $kp i32) (param $t i32) (param $nn i32)
    (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $n i32) (local $e i32) (local $wp i32) (local $we i32) (local $op i32) (local $v v128)
    (local.set $n (local.get $n0))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))
        (local.set $e (select (local.get $n1) (i32.add (local.get $n) (i32.const 8))
                              (i32.lt_u (local.get $n1) (i32.add (local.get $n) (i32.const 8)))))
        (local.set $wp (i32.add (local.get $w) (i32.mul (local.get $n) (i32.shl (local.get $kp) (i32.const 1)))))
        (local.set $we (i32.add (local.get $w) (i32.mul (local.get $e) (i32.shl (local.get $kp) (i32.const 1)))))
        (local.set $op (local.get $scr))
        (loop $widen
          (local.set $v (v128.load (local.get $wp)))
          (v128.store (local.get $op) (i8x16.shuffle 16 16 0 1 16 16 2 3 16 16 4 5 16 16 6 7 (local.get $v) (v128.const i32x4 0 0 0 0)))
          (v128.store offset=16 (local.get $op) (i8x16.shuffle 16 16 8 9 16 16 10 11 16 16 12 13 16 16 14 15 (local.get $v) (v128.const i32x4 0 0 0 0)))
          (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
          (local.set $op (i32.add (local.get $op) (i32.const 32)))
          (br_if $widen (i32.lt_u (local.get $wp) (local.get $we))))
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

  ;; The integer-dot compute ceiling (bench/dot-ceiling.ts): the prefill tile's inner loop ($dtile: 2 rows of
  ;; len x 8 i16 at w and w + 16 len, 4 tokens' [len][4][8] i16 at x) for passes [p0, p1) over the same operands,
  ;; small enough to stay in L1, without the per-block reductions; the 8 i32x4 accumulators go to scr (so nothing
  ;; is optimized away, and a test can check the sums). Its rate is what 8 products per i32x4.dot_i16x8_s and one
  ;; i32x4.add per dot allow on this machine, whatever the memory does.
  (func (export "dot_peak")
    (param $w i32) (param $x i32) (param $len i32) (param $p0 i32) (param $p1 i32) (param $scr i32)
    (local $p i32) (local $wp i32) (local $xp i32) (local $be i32) (local $rs i32)
    (local $w0 v128) (local $w1 v128) (local $xv v128)
    (local $c00 v128) (local $c01 v128) (local $c02 v128) (local $c03 v128)
    (local $c10 v128) (local $c11 v128) (local $c12 v128) (local $c13 v128)
    (local.set $rs (i32.shl (local.get $len) (i32.const 4)))
    (local.set $p (local.get $p0))
    (block $done
      (loop $passes
        (br_if $done (i32.ge_u (local.get $p) (local.get $p1)))
        (local.set $wp (local.get $w))
        (local.set $xp (local.get $x))
        (local.set $be (i32.add (local.get $w) (local.get $rs)))
        (loop $k
          (local.set $w0 (v128.load (local.get $wp)))
          (local.set $w1 (v128.load (i32.add (local.get $wp) (local.get $rs))))
          (local.set $xv (v128.load (local.get $xp)))
          (local.set $c00 (i32x4.add (local.get $c00) (i32x4.dot_i16x8_s (local.get $w0) (local.get $xv))))
          (local.set $c10 (i32x4.add (local.get $c10) (i32x4.dot_i16x8_s (local.get $w1) (local.get $xv))))
          (local.set $xv (v128.load offset=16 (local.get $xp)))
          (local.set $c01 (i32x4.add (local.get $c01) (i32x4.dot_i16x8_s (local.get $w0) (local.get $xv))))
          (local.set $c11 (i32x4.add (local.get $c11) (i32x4.dot_i16x8_s (local.get $w1) (local.get $xv))))
          (local.set $xv (v128.load offset=32 (local.get $xp)))
          (local.set $c02 (i32x4.add (local.get $c02) (i32x4.dot_i16x8_s (local.get $w0) (local.get $xv))))
          (local.set $c12 (i32x4.add (local.get $c12) (i32x4.dot_i16x8_s (local.get $w1) (local.get $xv))))
          (local.set $xv (v128.load offset=48 (local.get $xp)))
          (local.set $c03 (i32x4.add (local.get $c03) (i32x4.dot_i16x8_s (local.get $w0) (local.get $xv))))
          (local.set $c13 (i32x4.add (local.get $c13) (i32x4.dot_i16x8_s (local.get $w1) (local.get $xv))))
          (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
          (local.set $xp (i32.add (local.get $xp) (i32.const 64)))
          (br_if $k (i32.lt_u (local.get $wp) (local.get $be))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $passes)))
    (v128.store (local.get $scr) (local.get $c00))
    (v128.store offset=16 (local.get $scr) (local.get $c01))
    (v128.store offset=32 (local.get $scr) (local.get $c02))
    (v128.store offset=48 (local.get $scr) (local.get $c03))
    (v128.store offset=64 (local.get $scr) (local.get $c10))
    (v128.store offset=80 (local.get $scr) (local.get $c11))
    (v128.store offset=96 (local.get $scr) (local.get $c12))
    (v128.store offset=112 (local.get $scr) (local.get $c13)))

  ;; ---------------------------------------------------------------- attention (kernels/wasm/attention.ts)
  ;; The float64 arithmetic of js-ops.ts' scalar attention, two lanes at a time, in the same order per lane, so
  ;; the results are bit-identical to it: f32 q and k are widened exactly to f64 (their product is exact in f64),
  ;; scores accumulate in four partial sums d0..d3 over c mod 4 (lanes of $a = [d0 d1], $b = [d2 d3]), the tail
  ;; c >= d & ~3 goes into d0, and the score is ((d0 + d1) + (d2 + d3)) * scale. att_rows runs a range of (query, head) rows with
  ;; them and att_softmax, on whichever thread takes the range; each row is one thread's, in the same order.

  ;; One head's scores: sc[j] = (q · k_j) * scale for j < nk. q: f64 [d]; k: f32, key j at k + j * ks bytes.
  (func $att_scores (export "att_scores")
    (param $q i32) (param $k i32) (param $sc i32) (param $d i32) (param $ks i32) (param $nk i32) (param $scale f64)
    (local $j i32) (local $kp i32) (local $c i32) (local $d4 i32) (local $a v128) (local $b v128) (local $d0 f64)
    (local.set $d4 (i32.and (local.get $d) (i32.const -4)))
    (local.set $kp (local.get $k))
    (if (i32.eqz (local.get $nk)) (then (return)))
    (loop $keys
      (local.set $a (v128.const i32x4 0 0 0 0))
      (local.set $b (v128.const i32x4 0 0 0 0))
      (local.set $c (i32.const 0))
      (block $done4
        (br_if $done4 (i32.ge_u (local.get $c) (local.get $d4)))
        (loop $c4
          (local.set $a (f64x2.add (local.get $a)
            (f64x2.mul (v128.load (i32.add (local.get $q) (i32.shl (local.get $c) (i32.const 3))))
              (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $kp) (i32.shl (local.get $c) (i32.const 2))))))))
          (local.set $b (f64x2.add (local.get $b)
            (f64x2.mul (v128.load offset=16 (i32.add (local.get $q) (i32.shl (local.get $c) (i32.const 3))))
              (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (i32.add (local.get $kp) (i32.shl (local.get $c) (i32.const 2))))))))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br_if $c4 (i32.lt_u (local.get $c) (local.get $d4)))))
      (local.set $d0 (f64x2.extract_lane 0 (local.get $a)))
      (block $tail
        (br_if $tail (i32.ge_u (local.get $c) (local.get $d)))
        (loop $c1
          (local.set $d0 (f64.add (local.get $d0)
            (f64.mul (f64.load (i32.add (local.get $q) (i32.shl (local.get $c) (i32.const 3))))
              (f64.promote_f32 (f32.load (i32.add (local.get $kp) (i32.shl (local.get $c) (i32.const 2))))))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br_if $c1 (i32.lt_u (local.get $c) (local.get $d)))))
      (f64.store (i32.add (local.get $sc) (i32.shl (local.get $j) (i32.const 3)))
        (f64.mul
          (f64.add
            (f64.add (local.get $d0) (f64x2.extract_lane 1 (local.get $a)))
            (f64.add (f64x2.extract_lane 0 (local.get $b)) (f64x2.extract_lane 1 (local.get $b))))
          (local.get $scale)))
      (local.set $kp (i32.add (local.get $kp) (local.get $ks)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $keys (i32.lt_u (local.get $j) (local.get $nk)))))

  ;; One head's value mix: out[c] = f32(Σ_j p[j] * v_j[c]) over j < nk in order, keys with p[j] == 0 skipped (as
  ;; js-ops.ts: 0 * Inf would be NaN), accumulated in f64 from +0. p: f64 [nk]; v: f32, key j at v + j * vs bytes;
  ;; out: f32 [d]. Eight channels per pass over the keys (four f64x2 accumulators), then pairs, then one.
  (func $att_mix (export "att_mix")
    (param $p i32) (param $v i32) (param $out i32) (param $d i32) (param $vs i32) (param $nk i32)
    (local $c i32) (local $j i32) (local $vp i32) (local $pj f64) (local $ps v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $s f64)
    (block $done8
      (br_if $done8 (i32.gt_u (i32.add (local.get $c) (i32.const 8)) (local.get $d)))
      (loop $c8
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $vp (i32.add (local.get $v) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $nokeys
          (br_if $nokeys (i32.eqz (local.get $nk)))
          (loop $keys
            (local.set $pj (f64.load (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 3)))))
            (if (f64.ne (local.get $pj) (f64.const 0))
              (then
                (local.set $ps (f64x2.splat (local.get $pj)))
                (local.set $a0 (f64x2.add (local.get $a0)
                  (f64x2.mul (local.get $ps) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $vp))))))
                (local.set $a1 (f64x2.add (local.get $a1)
                  (f64x2.mul (local.get $ps) (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $vp))))))
                (local.set $a2 (f64x2.add (local.get $a2)
                  (f64x2.mul (local.get $ps) (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $vp))))))
                (local.set $a3 (f64x2.add (local.get $a3)
                  (f64x2.mul (local.get $ps) (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $vp))))))))
            (local.set $vp (i32.add (local.get $vp) (local.get $vs)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br_if $keys (i32.lt_u (local.get $j) (local.get $nk)))))
        (v128.store64_lane 0 (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
          (f32x4.demote_f64x2_zero (local.get $a0)))
        (v128.store64_lane offset=8 0 (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
          (f32x4.demote_f64x2_zero (local.get $a1)))
        (v128.store64_lane offset=16 0 (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
          (f32x4.demote_f64x2_zero (local.get $a2)))
        (v128.store64_lane offset=24 0 (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
          (f32x4.demote_f64x2_zero (local.get $a3)))
        (local.set $c (i32.add (local.get $c) (i32.const 8)))
        (br_if $c8 (i32.le_u (i32.add (local.get $c) (i32.const 8)) (local.get $d)))))
    (block $done1
      (br_if $done1 (i32.ge_u (local.get $c) (local.get $d)))
      (loop $c1
        (local.set $s (f64.const 0))
        (local.set $vp (i32.add (local.get $v) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $nokeys1
          (br_if $nokeys1 (i32.eqz (local.get $nk)))
          (loop $keys1
            (local.set $pj (f64.load (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 3)))))
            (if (f64.ne (local.get $pj) (f64.const 0))
              (then (local.set $s (f64.add (local.get $s) (f64.mul (local.get $pj) (f64.promote_f32 (f32.load (local.get $vp))))))))
            (local.set $vp (i32.add (local.get $vp) (local.get $vs)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br_if $keys1 (i32.lt_u (local.get $j) (local.get $nk)))))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2))) (f32.demote_f64 (local.get $s)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br_if $c1 (i32.lt_u (local.get $c) (local.get $d))))))

  ;; Rows [r0, r1) of one sequence's attention, row r = query i * nh + head h (kernels/wasm/attention.ts): the scores
  ;; into this thread's scratch sc (s + 4 f64: att_softmax reads up to 3 past the last key), the softmax, the pattern
  ;; row copied as f64 to pat [nh][t][s] when pat != 0, the value mix into out [t][nh][d] f32. A row that sees no real
  ;; key is written zero (its pattern row is left as the caller cleared it). q: f64 [t][nh][d]; k, v: f32, key j of kv
  ;; head kh at k + j * ks + kh * d * 4 bytes; valid: u8 [s]; sp: the f64 scale. Query i sees keys j < s - t + i + 1.
  (func (export "att_rows")
    (param $q i32) (param $k i32) (param $v i32) (param $out i32) (param $valid i32) (param $pat i32) (param $sp i32)
    (param $d i32) (param $nh i32) (param $group i32) (param $ks i32) (param $s i32) (param $t i32)
    (param $r0 i32) (param $r1 i32) (param $sc i32)
    (local $r i32) (local $i i32) (local $h i32) (local $kh i32) (local $nk i32) (local $o i32) (local $c i32) (local $pp i32)
    (local $scale f64)
    (if (i32.ge_u (local.get $r0) (local.get $r1)) (then (return)))
    (local.set $scale (f64.load (local.get $sp)))
    (local.set $r (local.get $r0))
    (loop $rows
      (local.set $i (i32.div_u (local.get $r) (local.get $nh)))
      (local.set $h (i32.sub (local.get $r) (i32.mul (local.get $i) (local.get $nh))))
      (local.set $kh (i32.div_u (local.get $h) (local.get $group)))
      (local.set $nk (i32.add (i32.sub (local.get $s) (local.get $t)) (i32.add (local.get $i) (i32.const 1))))
      (local.set $o (i32.add (local.get $out) (i32.shl (i32.mul (local.get $r) (local.get $d)) (i32.const 2))))
      (call $att_scores (i32.add (local.get $q) (i32.shl (i32.mul (local.get $r) (local.get $d)) (i32.const 3)))
        (i32.add (local.get $k) (i32.shl (i32.mul (local.get $kh) (local.get $d)) (i32.const 2)))
        (local.get $sc) (local.get $d) (local.get $ks) (local.get $nk) (local.get $scale))
      (if (call $att_softmax (local.get $sc) (local.get $valid) (local.get $nk))
        (then
          (if (local.get $pat)
            (then
              (local.set $pp (i32.add (local.get $pat)
                (i32.shl (i32.mul (i32.add (i32.mul (local.get $h) (local.get $t)) (local.get $i)) (local.get $s)) (i32.const 3))))
              (local.set $c (i32.const 0))
              (loop $copy
                (f64.store (i32.add (local.get $pp) (i32.shl (local.get $c) (i32.const 3)))
                  (f64.load (i32.add (local.get $sc) (i32.shl (local.get $c) (i32.const 3)))))
                (local.set $c (i32.add (local.get $c) (i32.const 1)))
                (br_if $copy (i32.lt_u (local.get $c) (local.get $nk))))))
          (call $att_mix (local.get $sc) (i32.add (local.get $v) (i32.shl (i32.mul (local.get $kh) (local.get $d)) (i32.const 2)))
            (local.get $o) (local.get $d) (local.get $ks) (local.get $nk)))
        (else
          (local.set $c (i32.const 0))
          (loop $zero
            (f32.store (i32.add (local.get $o) (i32.shl (local.get $c) (i32.const 2))) (f32.const 0))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br_if $zero (i32.lt_u (local.get $c) (local.get $d))))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $r) (local.get $r1)))))
)
