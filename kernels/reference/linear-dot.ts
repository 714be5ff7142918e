/**
 * Reference for the integer-dot Linear (kernels/dot-quant.ts defines it): what the fast int8/int4 kernels
 * compute, written as plain loops over the canonical layouts, so tests compare like with like (bit for bit).
 * Per token: x is gathered (perm) and quantized per block by the shared quantizeRow; per (row, block) the exact
 * integer I = Σ (q - z) xq; then in f32: accG += f32(I) * sx (block order), y += accG * scale (group order),
 * then + bias. linearRef (ops.ts) stays the exact-activation definition; the difference between the two is
 * bounded by dotErrorBound.
 */
import { activationMax, dotBlocking, dotGatherIndex, quantizeRow, type ActivationBits } from '../dot-quant.ts';
import { nGroups } from '../formats.ts';
import type { Int4Weight, Int8Weight } from '../types.ts';

const f = Math.fround;

/** Integer weight q - z at canonical (row, column). */
function intWeight(w: Int8Weight | Int4Weight, row: number, col: number, nG: number): number {
  if (w.format === 'int8') return w.q[row * w.k + col];
  const byte = w.packed[row * Math.ceil(w.k / 2) + (col >> 1)];
  const q = col & 1 ? byte >> 4 : byte & 15;
  return q - (w.zeros ? w.zeros[row * nG + Math.floor(col / w.groupSize)] : 8);
}

/** `bits`: the activation precision (16: the default kernels; 8: the relaxed-SIMD int4 kernel). */
export function linearDotRef(
  w: Int8Weight | Int4Weight,
  x: Float32Array,
  t: number,
  bias?: Float32Array | null,
  bits: ActivationBits = 16,
): Float32Array {
  const { n, k } = w;
  const B = dotBlocking(k, w.groupSize, bits);
  const nG = nGroups(k, w.groupSize);
  const idx = dotGatherIndex(k, w.groupSize, null, bits); // positions only; perm is applied to x below
  const xg = new Float32Array(k);
  const xq = new Int16Array(B.kp);
  const sx = new Float32Array(B.nb);
  const y = new Float32Array(t * n);
  // Stored column j multiplies x[perm[j]].
  for (let i = 0; i < t; i++) {
    for (let c = 0; c < k; c++) xg[c] = x[i * k + (w.perm ? w.perm[c] : c)];
    quantizeRow(xg, 0, idx, B.bs, xq, 0, sx, 0, null, 0, bits);
    for (let r = 0; r < n; r++) {
      let tot = 0;
      for (let g = 0; g < nG; g++) {
        let accG = 0;
        const len = Math.min(B.gs, k - g * B.gs);
        for (let b0 = 0; b0 < B.gp; b0 += B.bs) {
          let I = 0;
          for (let e = b0; e < Math.min(b0 + B.bs, len); e++) I += intWeight(w, r, g * B.gs + e, nG) * xq[g * B.gp + e];
          accG = f(accG + f(f(I) * sx[(g * B.gp + b0) / B.bs]));
        }
        tot = f(tot + f(accG * w.scales[r * nG + g]));
      }
      y[i * n + r] = bias ? f(tot + bias[r]) : tot;
    }
  }
  return y;
}

/**
 * Bound on |linearDotRef - exact| where exact = Σ_k x_k W_nk in real arithmetic (W dequantized), per output:
 *  - activation rounding: Σ_blocks amax_b (1 / (2 QMAX) + 2^-24) Σ_{k in b} |W_nk| (QMAX 32767, or 127 for 8 bits);
 *  - f32 roundings: each product f32(I)·sx, accG sum and scale product rounds once (|δ| <= 2^-24 relative),
 *    at most (nBlocks + 2 nGroups + 2) roundings on partial sums bounded by Σ|x_k W_nk| (+ the act error),
 *    each also losing up to 2^-149 absolute when the result is subnormal.
 * Returned per output as a Float64Array [t * n]; the test asserts |y - exact| <= bound (+ bias rounding).
 */
export function dotErrorBound(
  w: Int8Weight | Int4Weight,
  wDense: Float32Array,
  x: Float32Array,
  t: number,
  bits: ActivationBits = 16,
): Float64Array {
  const { n, k } = w;
  const B = dotBlocking(k, w.groupSize, bits);
  const step = 1 / (2 * activationMax(bits)) + 2 ** -24;
  const out = new Float64Array(t * n);
  const amax = new Float64Array(B.nb);
  const blockOf = (c: number) => {
    const g = Math.floor(c / B.gs);
    return Math.floor((g * B.gp + (c - g * B.gs)) / B.bs);
  };
  for (let i = 0; i < t; i++) {
    amax.fill(0);
    for (let c = 0; c < k; c++) {
      const v = Math.abs(x[i * k + (w.perm ? w.perm[c] : c)]);
      const b = blockOf(c);
      if (v > amax[b]) amax[b] = v;
    }
    for (let r = 0; r < n; r++) {
      let act = 0;
      let mag = 0;
      for (let c = 0; c < k; c++) {
        // wDense is in the original column order; stored column c multiplies x[perm[c]].
        const src = w.perm ? w.perm[c] : c;
        const wv = Math.abs(wDense[r * k + src]);
        act += amax[blockOf(c)] * step * wv;
        mag += Math.abs(x[i * k + src]) * wv;
      }
      const roundings = B.nb + 2 * B.nG + 2;
      out[i * n + r] = act + roundings * (2 ** -23 * (mag + act) + 2 ** -149);
    }
  }
  return out;
}
