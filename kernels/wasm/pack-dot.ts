/**
 * The integer-dot layouts (matmul.wat "integer-dot path"; blocking and activation quantization defined in
 * kernels/dot-quant.ts), written once at upload, and the per-call activation writers.
 *  - Rows padded to Np = roundup(N, 8) (zero weights, scales 0) so kernels run whole row quads / 8-row blocks.
 *  - Row quads interleaved: [Np/4][kp/32][4 rows][chunk], one chunk = 32 weights. A quad's weights are then one
 *    sequential stream; with rows stored apart, each row of a quad is its own 4-8 KB stream and the hardware
 *    prefetcher (which stops at 4 KB pages) restarts on every row: measured 1.2-1.4x slower from DRAM.
 *  - int8 chunk: 32 bytes, each group padded to gp with zeros.
 *  - int4 chunk: 16 bytes (32 weights): i16 lane l holds weight 8j + l in bits 4j..4j+3; with 8-bit activations
 *    (relaxed.wat i4q_mv) byte i holds weight i in its low nibble and 16 + i in its high nibble instead.
 *  - scales f32 and (int4) zero points u8 as [Np/4][nG][4 rows]; symmetric int4 stores z = 8.
 * Activations: decode xq [kp] i16 (i8 with 8-bit activations), sx [nb] f32, xsum [nb] i32; prefill token quads xq [T4/4][kp/8][4][8] i16,
 * sx [T4/4][nb][4] f32 (tokens past T are zero).
 */
import { activationMax, dotBlocking, dotGatherIndex, quantizeRow, type ActivationBits, type DotBlocking } from '../dot-quant.ts';
import type { Int4Weight, Int8Weight } from '../types.ts';

export interface DotLayout {
  format: 'int8' | 'int4';
  n: number;
  /** Rows padded to a multiple of 8. */
  np: number;
  k: number;
  /** Activation precision: 16 (i8d/i4d kernels) or 8 (int4 only: relaxed-SIMD i4q kernels). */
  bits: ActivationBits;
  blocking: DotBlocking;
  weightBytes: number;
  scaleBytes: number;
  zeroBytes: number;
}

export function dotLayout(w: Int8Weight | Int4Weight, bits: ActivationBits = 16): DotLayout {
  if (bits === 8 && w.format !== 'int4') throw new Error('dotLayout: 8-bit activations are for int4 weights only');
  const B = dotBlocking(w.k, w.groupSize, bits);
  const np = Math.ceil(w.n / 8) * 8;
  return {
    format: w.format,
    n: w.n,
    np,
    k: w.k,
    bits,
    blocking: B,
    weightBytes: w.format === 'int8' ? np * B.kp : (np * B.kp) / 2,
    scaleBytes: np * B.nG * 4,
    zeroBytes: w.format === 'int4' ? np * B.nG : 0,
  };
}

/** Index of (row, group) in the [Np/4][nG][4] scale / zero-point layout. */
const quadIndex = (r: number, g: number, nG: number) => ((r >> 2) * nG + g) * 4 + (r & 3);

/** Byte offset of chunk c (32 weights) of row r in the interleaved layout, chunk size cb bytes (32 int8, 16 int4). */
const chunkOffset = (r: number, c: number, kp: number, cb: number) => (r >> 2) * kp * 4 * (cb / 32) + (c * 4 + (r & 3)) * cb;

export function writeDotPacked(
  w: Int8Weight | Int4Weight,
  L: DotLayout,
  buf: ArrayBufferLike,
  wOff: number,
  sOff: number,
  zOff: number,
): void {
  const { n, k } = w;
  const { nG, gs, gp, kp } = L.blocking;
  const sc = new Float32Array(buf, sOff, L.np * nG);
  sc.fill(0);
  for (let r = 0; r < n; r++) for (let g = 0; g < nG; g++) sc[quadIndex(r, g, nG)] = w.scales[r * nG + g];
  if (w.format === 'int8') {
    const dst = new Int8Array(buf, wOff, L.weightBytes);
    dst.fill(0);
    for (let r = 0; r < n; r++)
      for (let g = 0; g < nG; g++) {
        const c0 = g * gs;
        const len = Math.min(gs, k - c0);
        for (let e = 0; e < len; e += 32) {
          const p = g * gp + e; // padded position: chunk p / 32 (gp is a multiple of 32)
          const end = Math.min(e + 32, len);
          dst.set(w.q.subarray(r * k + c0 + e, r * k + c0 + end), chunkOffset(r, p / 32, kp, 32));
        }
      }
    return;
  }
  const zs = new Uint8Array(buf, zOff, L.zeroBytes);
  zs.fill(0);
  for (let r = 0; r < n; r++) for (let g = 0; g < nG; g++) zs[quadIndex(r, g, nG)] = w.zeros ? w.zeros[r * nG + g] : 8;
  const dst = new Uint8Array(buf, wOff, L.weightBytes);
  dst.fill(0);
  const rowBytes = Math.ceil(k / 2);
  const src = w.packed;
  const q = new Uint8Array(kp); // one row's nibbles in padded positions (pads 0: x is 0 there)
  for (let r = 0; r < n; r++) {
    q.fill(0);
    const rb = r * rowBytes;
    for (let g = 0; g < nG; g++) {
      const c0 = g * gs;
      const len = Math.min(gs, k - c0);
      for (let e = 0; e < len; e++) {
        const c = c0 + e;
        const byte = src[rb + (c >> 1)];
        q[g * gp + e] = c & 1 ? byte >> 4 : byte & 15;
      }
    }
    for (let c = 0; c < kp; c += 32) {
      const o = chunkOffset(r, c / 32, kp, 16);
      if (L.bits === 8) for (let i = 0; i < 16; i++) dst[o + i] = q[c + i] | (q[c + 16 + i] << 4);
      else
        for (let l = 0; l < 8; l++) {
          dst[o + 2 * l] = q[c + l] | (q[c + 8 + l] << 4);
          dst[o + 2 * l + 1] = q[c + 16 + l] | (q[c + 24 + l] << 4);
        }
    }
  }
}

/** Per-handle gather index (perm applied) for the dot blocking. */
export const dotGather = (w: Int8Weight | Int4Weight, bits: ActivationBits = 16): Int32Array =>
  dotGatherIndex(w.k, w.groupSize, w.perm, bits);

/** Decode activations: one token gathered and quantized into xq [kp] (i16, or i8), sx [nb] f32, xsum [nb] i32. */
export function writeDotDecodeX(
  x: Float32Array,
  idx: Int32Array,
  B: DotBlocking,
  xq: Int16Array | Int8Array,
  sx: Float32Array,
  xsum: Int32Array,
  bits: ActivationBits = 16,
): void {
  if (identityLength(idx) === x.length) quantizeRowDirect(x, B, xq, sx, xsum, activationMax(bits));
  else quantizeRow(x, 0, idx, B.bs, xq, 0, sx, 0, xsum, 0, bits);
}

const identityLengths = new WeakMap<Int32Array, number>();

/** K when idx is 0, 1, ..., K-1 followed only by pads (-1): no perm and no padding inside the row; else -1. */
export function identityLength(idx: Int32Array): number {
  let n = identityLengths.get(idx);
  if (n === undefined) {
    n = 0;
    while (n < idx.length && idx[n] === n) n++;
    for (let i = n; i < idx.length; i++) if (idx[i] !== -1) n = -1;
    identityLengths.set(idx, n);
  }
  return n;
}

/**
 * quantizeRow (kernels/dot-quant.ts) for an identity gather: the same operations on the same values, in the same
 * order, without the index loads and pad tests (decode quantizes ~100 rows per token on the main thread). Pads
 * (positions >= K) get 0, as there. Divide-and-round is replaced by multiply-and-floor where that provably gives the
 * same integer.
 */
function quantizeRowDirect(
  x: Float32Array,
  B: DotBlocking,
  xq: Int16Array | Int8Array,
  sx: Float32Array,
  sums: Int32Array | null,
  QMAX: number,
): void {
  const k = x.length;
  const { bs, nb } = B;
  for (let b = 0; b < nb; b++) {
    const from = b * bs;
    const end = Math.min(from + bs, k);
    let amax = 0;
    for (let i = from; i < end; i++) {
      const v = Math.abs(x[i]);
      if (v > amax) amax = v;
      else if (v !== v) {
        amax = NaN; // sticky there: nothing later changes it
        break;
      }
    }
    let sum = 0;
    if (amax > 0 && amax !== Infinity) {
      // Math.round((x * QMAX) / amax) as floor(x * QMAX * (1 / amax) + 0.5): that sum is within 2e-11 of the exact
      // e + 0.5 (|e| <= 32767; the reciprocal, the product and the + 0.5 round once each), so both floor to the
      // same integer unless it lies within 1e-7 of an integer (e near a half), where Math.round of the quotient
      // itself is taken. x * QMAX is exact (an f32 times a 15-bit integer). ~2x faster than divide and Math.round.
      const inv = 1 / amax;
      for (let i = from; i < end; i++) {
        const p = x[i] * QMAX;
        const w = p * inv + 0.5;
        let v = Math.floor(w);
        const f = w - v;
        if (f < 1e-7 || f > 0.9999999) v = Math.round(p / amax);
        xq[i] = v;
        sum += v;
      }
      if (end < from + bs) xq.fill(0, Math.max(end, from), from + bs);
      sx[b] = Math.fround(amax / QMAX);
    } else {
      xq.fill(0, from, from + bs);
      sx[b] = amax === 0 ? 0 : NaN;
    }
    if (sums) sums[b] = sum;
  }
}
