;; The gated MLP's activation, silu(gate) · up, in float64 SIMD lanes, bit-identical to the JavaScript that defines
;; it (kernels/reference/ops.ts siluGateRef: x / (1 + Math.exp(-x)) * u in double, one f32 rounding at the store);
;; and attention's softmax (att_softmax, at the end), whose exps are the same Math.exp.
;; Composed into the "matmul" module (assemble.mjs COMPOSED): the pool runs these like the matmul kernels.
;;
;; Why it is exact: V8's Math.exp is fdlibm's __ieee754_exp (v8/src/base/ieee754.cc, from FreeBSD's e_exp.c), a
;; fixed sequence of double operations, and wasm's f64x2 arithmetic is IEEE double without FMA, like JavaScript's.
;; $exp2 runs that sequence on every lane with the branches as lane selects:
;;   |x| > ln2/2:  k = ±1 when |x| < 1.5 ln2, else trunc(x / ln2 ± 0.5); hi = x - k ln2hi, lo = k ln2lo, r = hi - lo
;;   |x| <= ln2/2: k = 0, hi = r = x, lo = 0 (fdlibm's k = 0 form 1 - ((x c)/(c - 2) - x) is the same number as the
;;                 k != 0 form below with lo = 0: c - 2 = -(2 - c) exactly, so the quotient only changes sign)
;;   c = r - r²(P1 + r²(P2 + r²(P3 + r²(P4 + r² P5)))),  y = 1 - ((lo - r c / (2 - c)) - hi),  exp(x) = y · 2^k
;;   |x| < 2^-28: 1 + x; x > 709.78: +Inf; x < -745.13: 0; NaN: x + x; and x = 1: Math.E, as V8 special-cases it.
;; fdlibm scales by adding k to y's exponent (for k < -1021 it adds k + 1000 and multiplies by 2^-1000, rounding once
;; into the subnormals); y · 2^h · 2^(k-h) with h = floor(k/2) is the same: the first product is exact (normal), the
;; second rounds once. The fdlibm thresholds compare the high word of |x|; here |x| is compared with the double whose
;; high word is the threshold (and low word 0), the same test. test/wasm-silu.test.ts holds exp_f64 to Math.exp on
;; any double and both silu kernels to the reference, bit for bit.
;;
;; Speed: npm run bench:elementwise (one thread): silu_gate 6.2 against 11.4 ns per element for siluGateRef's loop.
;; $exp2 takes two vectors (four lanes) and interleaves their dependency chains; its constants are immutable globals
;; (a v128.const of two equal halves costs V8 several instructions at every use). Inlining $exp2 into $silu4 measured
;; ~20% faster, at the cost of a second copy that the exp_f64 test would not cover.

  (global $sign v128 (v128.const i64x2 0x8000000000000000 0x8000000000000000))
  (global $half v128 (v128.const f64x2 0.5 0.5))
  (global $one v128 (v128.const f64x2 1 1))
  (global $two v128 (v128.const f64x2 2 2))
  (global $invln2 v128 (v128.const i64x2 0x3ff71547652b82fe 0x3ff71547652b82fe))
  (global $ln2hi v128 (v128.const i64x2 0x3fe62e42fee00000 0x3fe62e42fee00000))
  (global $ln2lo v128 (v128.const i64x2 0x3dea39ef35793c76 0x3dea39ef35793c76))
  (global $P1 v128 (v128.const i64x2 0x3fc555555555553e 0x3fc555555555553e))
  (global $P2 v128 (v128.const i64x2 0xbf66c16c16bebd93 0xbf66c16c16bebd93))
  (global $P3 v128 (v128.const i64x2 0x3f11566aaf25de2c 0x3f11566aaf25de2c))
  (global $P4 v128 (v128.const i64x2 0xbebbbd41c5d26bf1 0xbebbbd41c5d26bf1))
  (global $P5 v128 (v128.const i64x2 0x3e66376972bea4d0 0x3e66376972bea4d0))
  ;; |x| thresholds: high words 0x3fd62e43 (above ln2/2), 0x3ff0a2b2 (1.5 ln2), 0x3e300000 (2^-28)
  (global $halfln2 v128 (v128.const i64x2 0x3fd62e4300000000 0x3fd62e4300000000))
  (global $onehalfln2 v128 (v128.const i64x2 0x3ff0a2b200000000 0x3ff0a2b200000000))
  (global $tiny v128 (v128.const i64x2 0x3e30000000000000 0x3e30000000000000))
  (global $othreshold v128 (v128.const i64x2 0x40862e42fefa39ef 0x40862e42fefa39ef))
  (global $uthreshold v128 (v128.const i64x2 0xc0874910d52d3051 0xc0874910d52d3051))
  (global $e v128 (v128.const i64x2 0x4005bf0a8b145769 0x4005bf0a8b145769))
  (global $inf v128 (v128.const i64x2 0x7ff0000000000000 0x7ff0000000000000))
  (global $bias1023 v128 (v128.const i64x2 1023 1023))

  ;; exp of the f64 lanes of $xa and $xb, as fdlibm computes it (see above); the two chains interleaved.
  (func $exp2 (param $xa v128) (param $xb v128) (result v128 v128)
    (local $axa v128) (local $ka v128) (local $ha v128) (local $hia v128) (local $loa v128) (local $ra v128)
    (local $ta v128) (local $ca v128) (local $ya v128)
    (local $axb v128) (local $kb v128) (local $hb v128) (local $hib v128) (local $lob v128) (local $rb v128)
    (local $tb v128) (local $cb v128) (local $yb v128)
    (local.set $axa (f64x2.abs (local.get $xa)))
    (local.set $axb (f64x2.abs (local.get $xb)))
    ;; k = trunc(x / ln2 + copysign(0.5, x)); copysign(1, x) below 1.5 ln2; 0 up to ln2/2
    (local.set $ka (f64x2.trunc (f64x2.add (f64x2.mul (local.get $xa) (global.get $invln2))
      (v128.or (v128.and (local.get $xa) (global.get $sign)) (global.get $half)))))
    (local.set $kb (f64x2.trunc (f64x2.add (f64x2.mul (local.get $xb) (global.get $invln2))
      (v128.or (v128.and (local.get $xb) (global.get $sign)) (global.get $half)))))
    (local.set $ka (v128.bitselect (v128.or (v128.and (local.get $xa) (global.get $sign)) (global.get $one)) (local.get $ka)
      (f64x2.lt (local.get $axa) (global.get $onehalfln2))))
    (local.set $kb (v128.bitselect (v128.or (v128.and (local.get $xb) (global.get $sign)) (global.get $one)) (local.get $kb)
      (f64x2.lt (local.get $axb) (global.get $onehalfln2))))
    (local.set $ka (v128.and (local.get $ka) (f64x2.ge (local.get $axa) (global.get $halfln2))))
    (local.set $kb (v128.and (local.get $kb) (f64x2.ge (local.get $axb) (global.get $halfln2))))
    ;; hi = x - k ln2hi, lo = k ln2lo, r = hi - lo
    (local.set $hia (f64x2.sub (local.get $xa) (f64x2.mul (local.get $ka) (global.get $ln2hi))))
    (local.set $hib (f64x2.sub (local.get $xb) (f64x2.mul (local.get $kb) (global.get $ln2hi))))
    (local.set $loa (f64x2.mul (local.get $ka) (global.get $ln2lo)))
    (local.set $lob (f64x2.mul (local.get $kb) (global.get $ln2lo)))
    (local.set $ra (f64x2.sub (local.get $hia) (local.get $loa)))
    (local.set $rb (f64x2.sub (local.get $hib) (local.get $lob)))
    ;; c = r - t (P1 + t (P2 + t (P3 + t (P4 + t P5)))), t = r²
    (local.set $ta (f64x2.mul (local.get $ra) (local.get $ra)))
    (local.set $tb (f64x2.mul (local.get $rb) (local.get $rb)))
    (local.set $ca (f64x2.add (global.get $P4) (f64x2.mul (local.get $ta) (global.get $P5))))
    (local.set $cb (f64x2.add (global.get $P4) (f64x2.mul (local.get $tb) (global.get $P5))))
    (local.set $ca (f64x2.add (global.get $P3) (f64x2.mul (local.get $ta) (local.get $ca))))
    (local.set $cb (f64x2.add (global.get $P3) (f64x2.mul (local.get $tb) (local.get $cb))))
    (local.set $ca (f64x2.add (global.get $P2) (f64x2.mul (local.get $ta) (local.get $ca))))
    (local.set $cb (f64x2.add (global.get $P2) (f64x2.mul (local.get $tb) (local.get $cb))))
    (local.set $ca (f64x2.add (global.get $P1) (f64x2.mul (local.get $ta) (local.get $ca))))
    (local.set $cb (f64x2.add (global.get $P1) (f64x2.mul (local.get $tb) (local.get $cb))))
    (local.set $ca (f64x2.sub (local.get $ra) (f64x2.mul (local.get $ta) (local.get $ca))))
    (local.set $cb (f64x2.sub (local.get $rb) (f64x2.mul (local.get $tb) (local.get $cb))))
    ;; y = 1 - ((lo - r c / (2 - c)) - hi)
    (local.set $ya (f64x2.sub (global.get $one) (f64x2.sub (f64x2.sub (local.get $loa)
      (f64x2.div (f64x2.mul (local.get $ra) (local.get $ca)) (f64x2.sub (global.get $two) (local.get $ca)))) (local.get $hia))))
    (local.set $yb (f64x2.sub (global.get $one) (f64x2.sub (f64x2.sub (local.get $lob)
      (f64x2.div (f64x2.mul (local.get $rb) (local.get $cb)) (f64x2.sub (global.get $two) (local.get $cb)))) (local.get $hib))))
    ;; y · 2^h · 2^(k - h), h = floor(k / 2): |h|, |k - h| <= 538 for every k in range; 2^m is the double whose
    ;; exponent bits are m + 1023 (<< 52)
    (local.set $ha (f64x2.floor (f64x2.mul (local.get $ka) (global.get $half))))
    (local.set $hb (f64x2.floor (f64x2.mul (local.get $kb) (global.get $half))))
    (local.set $ya (f64x2.mul (f64x2.mul (local.get $ya) (i64x2.shl (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (local.get $ha))) (global.get $bias1023)) (i32.const 52)))
      (i64x2.shl (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (f64x2.sub (local.get $ka) (local.get $ha)))) (global.get $bias1023)) (i32.const 52))))
    (local.set $yb (f64x2.mul (f64x2.mul (local.get $yb) (i64x2.shl (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (local.get $hb))) (global.get $bias1023)) (i32.const 52)))
      (i64x2.shl (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (f64x2.sub (local.get $kb) (local.get $hb)))) (global.get $bias1023)) (i32.const 52))))
    ;; The special cases, last so that they win: 1 + x, e at x = 1 (V8 returns its constant E there: the sequence
    ;; above rounds the other way in the last bit), +Inf, 0, x + x (NaN).
    (local.set $ya (v128.bitselect (f64x2.add (global.get $one) (local.get $xa)) (local.get $ya)
      (f64x2.lt (local.get $axa) (global.get $tiny))))
    (local.set $yb (v128.bitselect (f64x2.add (global.get $one) (local.get $xb)) (local.get $yb)
      (f64x2.lt (local.get $axb) (global.get $tiny))))
    (local.set $ya (v128.bitselect (global.get $e) (local.get $ya) (f64x2.eq (local.get $xa) (global.get $one))))
    (local.set $yb (v128.bitselect (global.get $e) (local.get $yb) (f64x2.eq (local.get $xb) (global.get $one))))
    (local.set $ya (v128.bitselect (global.get $inf) (local.get $ya) (f64x2.gt (local.get $xa) (global.get $othreshold))))
    (local.set $yb (v128.bitselect (global.get $inf) (local.get $yb) (f64x2.gt (local.get $xb) (global.get $othreshold))))
    (local.set $ya (v128.andnot (local.get $ya) (f64x2.lt (local.get $xa) (global.get $uthreshold))))
    (local.set $yb (v128.andnot (local.get $yb) (f64x2.lt (local.get $xb) (global.get $uthreshold))))
    (v128.bitselect (f64x2.add (local.get $xa) (local.get $xa)) (local.get $ya) (f64x2.ne (local.get $xa) (local.get $xa)))
    (v128.bitselect (f64x2.add (local.get $xb) (local.get $xb)) (local.get $yb) (f64x2.ne (local.get $xb) (local.get $xb))))

  ;; f32(g / (1 + exp(-g)) * u) on four f32 lanes (g and u widened exactly to f64, one rounding at the end).
  (func $silu4 (param $g v128) (param $u v128) (result v128)
    (local $ga v128) (local $gb v128) (local $ea v128) (local $eb v128)
    (local.set $ga (f64x2.promote_low_f32x4 (local.get $g)))
    (local.set $gb (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $g) (local.get $g))))
    (call $exp2 (f64x2.neg (local.get $ga)) (f64x2.neg (local.get $gb)))
    (local.set $eb)
    (local.set $ea)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero
        (f64x2.mul (f64x2.div (local.get $ga) (f64x2.add (global.get $one) (local.get $ea)))
          (f64x2.promote_low_f32x4 (local.get $u))))
      (f32x4.demote_f64x2_zero
        (f64x2.mul (f64x2.div (local.get $gb) (f64x2.add (global.get $one) (local.get $eb)))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $u) (local.get $u)))))))

  ;; y[i] = exp(x[i]) for i in [n0, n1), f64 arrays at byte offsets x, y: $exp2 on its own, so that tests can hold it
  ;; to Math.exp on any double (silu's f32 rounding would hide an error). Not a pool kernel.
  (func (export "exp_f64") (param $x i32) (param $y i32) (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $i i32) (local $o i32) (local $a v128) (local $b v128)
    (local.set $i (local.get $n0))
    (block $quads
      (br_if $quads (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n1)))
      (loop $quad
        (local.set $o (i32.shl (local.get $i) (i32.const 3)))
        (call $exp2 (v128.load (i32.add (local.get $x) (local.get $o))) (v128.load offset=16 (i32.add (local.get $x) (local.get $o))))
        (local.set $b)
        (local.set $a)
        (v128.store (i32.add (local.get $y) (local.get $o)) (local.get $a))
        (v128.store offset=16 (i32.add (local.get $y) (local.get $o)) (local.get $b))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $quad (i32.le_u (i32.add (local.get $i) (i32.const 4)) (local.get $n1)))))
    (block $done
      (br_if $done (i32.ge_u (local.get $i) (local.get $n1)))
      (loop $one
        (local.set $o (i32.shl (local.get $i) (i32.const 3)))
        (call $exp2 (v128.load64_splat (i32.add (local.get $x) (local.get $o))) (v128.load64_splat (i32.add (local.get $x) (local.get $o))))
        (local.set $b)
        (local.set $a)
        (f64.store (i32.add (local.get $y) (local.get $o)) (f64x2.extract_lane 0 (local.get $a)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $one (i32.lt_u (local.get $i) (local.get $n1))))))

  ;; y[i] = silu(g[i]) · u[i] for i in [n0, n1): f32 arrays at byte offsets g, u, y.
  (func (export "silu_gate")
    (param $g i32) (param $u i32) (param $y i32) (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $i i32) (local $o i32)
    (local.set $i (local.get $n0))
    (block $quads
      (br_if $quads (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n1)))
      (loop $quad
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (v128.store (i32.add (local.get $y) (local.get $o))
          (call $silu4 (v128.load (i32.add (local.get $g) (local.get $o))) (v128.load (i32.add (local.get $u) (local.get $o)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $quad (i32.le_u (i32.add (local.get $i) (i32.const 4)) (local.get $n1)))))
    (block $done
      (br_if $done (i32.ge_u (local.get $i) (local.get $n1)))
      (loop $one
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (v128.store32_lane 0 (i32.add (local.get $y) (local.get $o))
          (call $silu4 (v128.load32_splat (i32.add (local.get $g) (local.get $o))) (v128.load32_splat (i32.add (local.get $u) (local.get $o)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $one (i32.lt_u (local.get $i) (local.get $n1))))))

  ;; The gated MLP's activation straight from the gate|up matmul result: out[r, j] = silu(g) · u for j < dm, rows
  ;; [r0, r1), with g = f32(y[j] (+ b[j])), u = f32(y[dm + j] (+ b[dm + j])) and y's element (r, c) at
  ;; yOff + 4 (c cs + r rs); bOff = 0: no bias. The f32 sum is the f32 rounding of the double sum that JavaScript's
  ;; Math.fround(y + b) takes (double rounding is innocuous for a sum of two floats: 53 >= 2·24 + 2). Tiles of 32
  ;; columns keep the strided reads of y (one per column) in cache across the rows; four columns per step, then one.
  (func (export "gate_silu")
    (param $yOff i32) (param $cs i32) (param $rs i32) (param $bOff i32) (param $oOff i32) (param $dm i32)
    (param $r0 i32) (param $r1 i32) (param $scr i32)
    (local $j0 i32) (local $j1 i32) (local $j i32) (local $r i32) (local $yr i32) (local $gp i32) (local $up i32)
    (local $cs4 i32) (local $ob i32) (local $g v128) (local $u v128)
    (if (i32.or (i32.ge_u (local.get $r0) (local.get $r1)) (i32.eqz (local.get $dm))) (then (return)))
    (local.set $cs4 (i32.shl (local.get $cs) (i32.const 2)))
    (loop $tiles
      (local.set $j1 (select (i32.add (local.get $j0) (i32.const 32)) (local.get $dm)
        (i32.lt_u (i32.add (local.get $j0) (i32.const 32)) (local.get $dm))))
      (local.set $r (local.get $r0))
      (loop $rows
        (local.set $yr (i32.add (local.get $yOff) (i32.shl (i32.mul (local.get $r) (local.get $rs)) (i32.const 2))))
        (local.set $ob (i32.add (local.get $oOff) (i32.shl (i32.mul (local.get $r) (local.get $dm)) (i32.const 2))))
        (local.set $j (local.get $j0))
        (loop $cols
          (local.set $gp (i32.add (local.get $yr) (i32.mul (local.get $j) (local.get $cs4))))
          (local.set $up (i32.add (local.get $yr) (i32.mul (i32.add (local.get $dm) (local.get $j)) (local.get $cs4))))
          (if (i32.le_u (i32.add (local.get $j) (i32.const 4)) (local.get $j1))
            (then
              (local.set $g (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1
                (f32x4.splat (f32.load (local.get $gp)))
                (f32.load (i32.add (local.get $gp) (local.get $cs4))))
                (f32.load (i32.add (local.get $gp) (i32.shl (local.get $cs4) (i32.const 1)))))
                (f32.load (i32.add (local.get $gp) (i32.mul (local.get $cs4) (i32.const 3))))))
              (local.set $u (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1
                (f32x4.splat (f32.load (local.get $up)))
                (f32.load (i32.add (local.get $up) (local.get $cs4))))
                (f32.load (i32.add (local.get $up) (i32.shl (local.get $cs4) (i32.const 1)))))
                (f32.load (i32.add (local.get $up) (i32.mul (local.get $cs4) (i32.const 3))))))
              (if (local.get $bOff)
                (then
                  (local.set $g (f32x4.add (local.get $g)
                    (v128.load (i32.add (local.get $bOff) (i32.shl (local.get $j) (i32.const 2))))))
                  (local.set $u (f32x4.add (local.get $u)
                    (v128.load (i32.add (local.get $bOff) (i32.shl (i32.add (local.get $dm) (local.get $j)) (i32.const 2))))))))
              (v128.store (i32.add (local.get $ob) (i32.shl (local.get $j) (i32.const 2))) (call $silu4 (local.get $g) (local.get $u)))
              (local.set $j (i32.add (local.get $j) (i32.const 4))))
            (else
              (local.set $g (f32x4.splat (f32.load (local.get $gp))))
              (local.set $u (f32x4.splat (f32.load (local.get $up))))
              (if (local.get $bOff)
                (then
                  (local.set $g (f32x4.add (local.get $g)
                    (v128.load32_splat (i32.add (local.get $bOff) (i32.shl (local.get $j) (i32.const 2))))))
                  (local.set $u (f32x4.add (local.get $u)
                    (v128.load32_splat (i32.add (local.get $bOff) (i32.shl (i32.add (local.get $dm) (local.get $j)) (i32.const 2))))))))
              (v128.store32_lane 0 (i32.add (local.get $ob) (i32.shl (local.get $j) (i32.const 2))) (call $silu4 (local.get $g) (local.get $u)))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))))
          (br_if $cols (i32.lt_u (local.get $j) (local.get $j1))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $rows (i32.lt_u (local.get $r) (local.get $r1))))
      (local.set $j0 (local.get $j1))
      (br_if $tiles (i32.lt_u (local.get $j0) (local.get $dm)))))

  ;; A matmul result into token rows: out[r, j] = y[j] (+ b[j]) for j < n, rows [r0, r1), y's element (r, c) at
  ;; yOff + 4 (c cs + r rs); bOff = 0: no bias (the values as they are: adding +0 would turn -0 into +0). One f32
  ;; rounding of the sum, as Math.fround(y + b) (see gate_silu). Tiled like gate_silu. In wasm rather than JavaScript
  ;; because a worker's view of a shared memory (memory.buffer) can stay at an old length after a grow, which a
  ;; typed-array view then refuses; wasm code reads the memory itself (kernels/README.md, "Only wasm in the pool's
  ;; threads").
  (func (export "tr_bias")
    (param $yOff i32) (param $cs i32) (param $rs i32) (param $bOff i32) (param $oOff i32) (param $n i32)
    (param $r0 i32) (param $r1 i32) (param $scr i32)
    (local $j0 i32) (local $j1 i32) (local $j i32) (local $r i32) (local $yr i32) (local $yp i32)
    (local $cs4 i32) (local $ob i32) (local $v v128)
    (if (i32.or (i32.ge_u (local.get $r0) (local.get $r1)) (i32.eqz (local.get $n))) (then (return)))
    (local.set $cs4 (i32.shl (local.get $cs) (i32.const 2)))
    (loop $tiles
      (local.set $j1 (select (i32.add (local.get $j0) (i32.const 32)) (local.get $n)
        (i32.lt_u (i32.add (local.get $j0) (i32.const 32)) (local.get $n))))
      (local.set $r (local.get $r0))
      (loop $rows
        (local.set $yr (i32.add (local.get $yOff) (i32.shl (i32.mul (local.get $r) (local.get $rs)) (i32.const 2))))
        (local.set $ob (i32.add (local.get $oOff) (i32.shl (i32.mul (local.get $r) (local.get $n)) (i32.const 2))))
        (local.set $j (local.get $j0))
        (loop $cols
          (local.set $yp (i32.add (local.get $yr) (i32.mul (local.get $j) (local.get $cs4))))
          (if (i32.le_u (i32.add (local.get $j) (i32.const 4)) (local.get $j1))
            (then
              (local.set $v (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1
                (f32x4.splat (f32.load (local.get $yp)))
                (f32.load (i32.add (local.get $yp) (local.get $cs4))))
                (f32.load (i32.add (local.get $yp) (i32.shl (local.get $cs4) (i32.const 1)))))
                (f32.load (i32.add (local.get $yp) (i32.mul (local.get $cs4) (i32.const 3))))))
              (if (local.get $bOff)
                (then
                  (local.set $v (f32x4.add (local.get $v)
                    (v128.load (i32.add (local.get $bOff) (i32.shl (local.get $j) (i32.const 2))))))))
              (v128.store (i32.add (local.get $ob) (i32.shl (local.get $j) (i32.const 2))) (local.get $v))
              (local.set $j (i32.add (local.get $j) (i32.const 4))))
            (else
              (f32.store (i32.add (local.get $ob) (i32.shl (local.get $j) (i32.const 2)))
                (if (result f32) (local.get $bOff)
                  (then (f32.add (f32.load (local.get $yp)) (f32.load (i32.add (local.get $bOff) (i32.shl (local.get $j) (i32.const 2))))))
                  (else (f32.load (local.get $yp)))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))))
          (br_if $cols (i32.lt_u (local.get $j) (local.get $j1))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $rows (i32.lt_u (local.get $r) (local.get $r1))))
      (local.set $j0 (local.get $j1))
      (br_if $tiles (i32.lt_u (local.get $j0) (local.get $n)))))

  ;; One attention row's softmax in place, bit-identical to the loops it replaced in kernels/wasm/attention.ts (and
  ;; js-ops.ts' attention): sc f64 [nk] (the scores), valid u8 [nk] (1: a real key). Masked keys read -Inf, then 0;
  ;; max over the real keys with NaN sticky (visible keys whose scores are all -Inf give max = NaN, as the reference);
  ;; e_j = exp(sc_j - max) by $exp2 (V8's Math.exp, above), summed in key order from +0; p_j = e_j * (1 / sum).
  ;; Returns 0 when no key is real (the caller leaves that row zero; sc then holds -Inf everywhere), else 1.
  (func $att_softmax (export "att_softmax") (param $sc i32) (param $valid i32) (param $nk i32) (result i32)
    (local $j i32) (local $p i32) (local $s f64) (local $max f64) (local $sum f64) (local $inv f64) (local $vis i32)
    (local $mv v128) (local $ea v128) (local $eb v128)
    (local.set $max (f64.const -inf))
    (local.set $j (i32.const 0))
    (block $scan
      (br_if $scan (i32.eqz (local.get $nk)))
      (loop $keys
        (local.set $p (i32.add (local.get $sc) (i32.shl (local.get $j) (i32.const 3))))
        (if (i32.load8_u (i32.add (local.get $valid) (local.get $j)))
          (then
            (local.set $vis (i32.const 1))
            (local.set $s (f64.load (local.get $p)))
            (if (i32.or (f64.gt (local.get $s) (local.get $max)) (f64.ne (local.get $s) (local.get $s)))
              (then (local.set $max (local.get $s)))))
          (else (f64.store (local.get $p) (f64.const -inf))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $keys (i32.lt_u (local.get $j) (local.get $nk)))))
    (if (i32.eqz (local.get $vis)) (then (return (i32.const 0))))
    (if (f64.eq (local.get $max) (f64.const -inf)) (then (local.set $max (f64.const nan))))
    (local.set $mv (f64x2.splat (local.get $max)))
    ;; exps four keys at a time; lanes past nk are computed on whatever follows sc (up to 3 doubles past sc[nk - 1]:
    ;; the caller's memory must extend that far) and never stored
    (local.set $sum (f64.const 0))
    (local.set $j (i32.const 0))
    (loop $quads
      (local.set $p (i32.add (local.get $sc) (i32.shl (local.get $j) (i32.const 3))))
      (call $exp2 (f64x2.sub (v128.load (local.get $p)) (local.get $mv)) (f64x2.sub (v128.load offset=16 (local.get $p)) (local.get $mv)))
      (local.set $eb)
      (local.set $ea)
      (local.set $sum (call $softmax_lane (local.get $p) (local.get $valid) (local.get $j) (local.get $nk) (f64x2.extract_lane 0 (local.get $ea)) (local.get $sum)))
      (local.set $sum (call $softmax_lane (i32.add (local.get $p) (i32.const 8)) (local.get $valid) (i32.add (local.get $j) (i32.const 1)) (local.get $nk) (f64x2.extract_lane 1 (local.get $ea)) (local.get $sum)))
      (local.set $sum (call $softmax_lane (i32.add (local.get $p) (i32.const 16)) (local.get $valid) (i32.add (local.get $j) (i32.const 2)) (local.get $nk) (f64x2.extract_lane 0 (local.get $eb)) (local.get $sum)))
      (local.set $sum (call $softmax_lane (i32.add (local.get $p) (i32.const 24)) (local.get $valid) (i32.add (local.get $j) (i32.const 3)) (local.get $nk) (f64x2.extract_lane 1 (local.get $eb)) (local.get $sum)))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br_if $quads (i32.lt_u (local.get $j) (local.get $nk))))
    (local.set $inv (f64.div (f64.const 1) (local.get $sum)))
    (local.set $j (i32.const 0))
    (loop $norm
      (local.set $p (i32.add (local.get $sc) (i32.shl (local.get $j) (i32.const 3))))
      (f64.store (local.get $p) (f64.mul (f64.load (local.get $p)) (local.get $inv)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $norm (i32.lt_u (local.get $j) (local.get $nk))))
    (i32.const 1))

  ;; Key j of att_softmax (when j < nk): e = valid ? exp : +0, stored at p; returns sum + e.
  (func $softmax_lane (param $p i32) (param $valid i32) (param $j i32) (param $nk i32) (param $e f64) (param $sum f64) (result f64)
    (if (i32.ge_u (local.get $j) (local.get $nk)) (then (return (local.get $sum))))
    (if (i32.eqz (i32.load8_u (i32.add (local.get $valid) (local.get $j)))) (then (local.set $e (f64.const 0))))
    (f64.store (local.get $p) (local.get $e))
    (f64.add (local.get $sum) (local.get $e)))

  ;; ---------------------------------------------------------------- row ops (norm, residual add)

  ;; One row's output: y[c] = f32((f64(x[c]) · inv) · g[c]), g = f64(w[c]) (+ 1 when addOne), as rmsNormRef writes it
  ;; (JavaScript multiplies left to right in double; the Float32Array store rounds to nearest even, as demote does).
  (func $norm_row (param $x i32) (param $w i32) (param $y i32) (param $d i32) (param $inv v128) (param $one v128)
    (local $c i32) (local $d4 i32) (local $v v128) (local $g v128)
    (local.set $d4 (i32.and (local.get $d) (i32.const -4)))
    (block $done
      (br_if $done (i32.eqz (local.get $d4)))
      (loop $quad
        (local.set $v (v128.load (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2)))))
        (local.set $g (v128.load (i32.add (local.get $w) (i32.shl (local.get $c) (i32.const 2)))))
        (v128.store (i32.add (local.get $y) (i32.shl (local.get $c) (i32.const 2)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.mul (f64x2.promote_low_f32x4 (local.get $v)) (local.get $inv))
                                                (f64x2.add (local.get $one) (f64x2.promote_low_f32x4 (local.get $g)))))
            (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v))) (local.get $inv))
                                                (f64x2.add (local.get $one) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $g) (local.get $g))))))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br_if $quad (i32.lt_u (local.get $c) (local.get $d4)))))
    (block $tail
      (br_if $tail (i32.ge_u (local.get $c) (local.get $d)))
      (loop $one
        (f32.store (i32.add (local.get $y) (i32.shl (local.get $c) (i32.const 2)))
          (f32.demote_f64 (f64.mul (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2)))))
                                            (f64x2.extract_lane 0 (local.get $inv)))
                                   (f64.add (f64x2.extract_lane 0 (local.get $one))
                                            (f64.promote_f32 (f32.load (i32.add (local.get $w) (i32.shl (local.get $c) (i32.const 2)))))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br_if $one (i32.lt_u (local.get $c) (local.get $d))))))

  ;; RMSNorm of rows [r0, r1) of x [rows][d] f32 into y: js-ops.ts rmsNorm's float64 arithmetic. Two rows at a time,
  ;; one per f64x2 lane (shuffles pair column c of both rows; V8 inlines no wasm call, so they are written out), so each row's Σ x² is summed column by column in order, as rmsNormRef sums it; then
  ;; inv = 1 / sqrt(Σ / d + eps) per lane. An odd last row runs in both lanes. hdr: eps f64 at +0, addOne i32 at +8.
  (func (export "rms_norm")
    (param $x i32) (param $w i32) (param $y i32) (param $d i32) (param $hdr i32)
    (param $r0 i32) (param $r1 i32) (param $scr i32)
    (local $r i32) (local $c i32) (local $d4 i32) (local $rs i32) (local $pa i32) (local $pb i32)
    (local $va v128) (local $vb v128) (local $p v128) (local $s v128) (local $inv v128) (local $one v128)
    ;; g = one + w: one is 1 with addOne, else -0 (the additive identity that keeps w = -0 a -0, as w itself is).
    (local.set $one (f64x2.splat (select (f64.const 1) (f64.const -0) (i32.load offset=8 (local.get $hdr)))))
    (local.set $d4 (i32.and (local.get $d) (i32.const -4)))
    (local.set $rs (i32.shl (local.get $d) (i32.const 2)))
    (local.set $r (local.get $r0))
    (block $rows_done
      (br_if $rows_done (i32.ge_u (local.get $r) (local.get $r1)))
      (loop $rows
        (local.set $pa (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $rs))))
        (local.set $pb (select (i32.add (local.get $pa) (local.get $rs)) (local.get $pa)
                               (i32.lt_u (i32.add (local.get $r) (i32.const 1)) (local.get $r1))))
        (local.set $s (v128.const f64x2 0 0))
        (local.set $c (i32.const 0))
        (block $sum_done
          (br_if $sum_done (i32.eqz (local.get $d4)))
          (loop $sum
            (local.set $va (v128.load (i32.add (local.get $pa) (i32.shl (local.get $c) (i32.const 2)))))
            (local.set $vb (v128.load (i32.add (local.get $pb) (i32.shl (local.get $c) (i32.const 2)))))
            (local.set $p (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $va) (local.get $vb)))
            (local.set $s (f64x2.add (local.get $s) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $p)) (f64x2.promote_low_f32x4 (local.get $p)))))
            (local.set $p (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $p) (local.get $p)))
            (local.set $s (f64x2.add (local.get $s) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $p)) (f64x2.promote_low_f32x4 (local.get $p)))))
            (local.set $p (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $va) (local.get $vb)))
            (local.set $s (f64x2.add (local.get $s) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $p)) (f64x2.promote_low_f32x4 (local.get $p)))))
            (local.set $p (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $p) (local.get $p)))
            (local.set $s (f64x2.add (local.get $s) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $p)) (f64x2.promote_low_f32x4 (local.get $p)))))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br_if $sum (i32.lt_u (local.get $c) (local.get $d4)))))
        (block $tail_done
          (br_if $tail_done (i32.ge_u (local.get $c) (local.get $d)))
          (loop $tail
            (local.set $p (f64x2.replace_lane 1
              (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $pa) (i32.shl (local.get $c) (i32.const 2))))))
              (f64.promote_f32 (f32.load (i32.add (local.get $pb) (i32.shl (local.get $c) (i32.const 2)))))))
            (local.set $s (f64x2.add (local.get $s) (f64x2.mul (local.get $p) (local.get $p))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br_if $tail (i32.lt_u (local.get $c) (local.get $d)))))
        (local.set $inv (f64x2.div (v128.const f64x2 1 1)
          (f64x2.sqrt (f64x2.add (f64x2.div (local.get $s) (f64x2.splat (f64.convert_i32_u (local.get $d))))
                                 (v128.load64_splat (local.get $hdr))))))
        (call $norm_row (local.get $pa) (local.get $w) (i32.add (local.get $y) (i32.mul (local.get $r) (local.get $rs))) (local.get $d)
          (f64x2.splat (f64x2.extract_lane 0 (local.get $inv))) (local.get $one))
        (if (i32.lt_u (i32.add (local.get $r) (i32.const 1)) (local.get $r1)) (then
          (call $norm_row (local.get $pb) (local.get $w) (i32.add (local.get $y) (i32.mul (i32.add (local.get $r) (i32.const 1)) (local.get $rs)))
            (local.get $d) (f64x2.splat (f64x2.extract_lane 1 (local.get $inv))) (local.get $one))))
        (local.set $r (i32.add (local.get $r) (i32.const 2)))
        (br_if $rows (i32.lt_u (local.get $r) (local.get $r1))))))

  ;; y = a + b over elements [n0, n1) (f32; the sum of two floats rounded once, as JavaScript's double sum stored to
  ;; a Float32Array is: double rounding is innocuous, 53 >= 2·24 + 2).
  (func (export "add_f32") (param $a i32) (param $b i32) (param $y i32) (param $n0 i32) (param $n1 i32) (param $scr i32)
    (local $o i32) (local $e i32)
    (local.set $o (i32.shl (local.get $n0) (i32.const 2)))
    (local.set $e (i32.shl (local.get $n1) (i32.const 2)))
    (block $quads
      (br_if $quads (i32.gt_u (i32.add (local.get $o) (i32.const 16)) (local.get $e)))
      (loop $quad
        (v128.store (i32.add (local.get $y) (local.get $o))
          (f32x4.add (v128.load (i32.add (local.get $a) (local.get $o))) (v128.load (i32.add (local.get $b) (local.get $o)))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br_if $quad (i32.le_u (i32.add (local.get $o) (i32.const 16)) (local.get $e)))))
    (block $done
      (br_if $done (i32.ge_u (local.get $o) (local.get $e)))
      (loop $one
        (f32.store (i32.add (local.get $y) (local.get $o))
          (f32.add (f32.load (i32.add (local.get $a) (local.get $o))) (f32.load (i32.add (local.get $b) (local.get $o)))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br_if $one (i32.lt_u (local.get $o) (local.get $e))))))
