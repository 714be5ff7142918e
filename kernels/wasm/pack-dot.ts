/**
 * The integer-dot layouts (matmul.wat "integer-dot path"; blocking and activation quantization defined in
 * kernels/dot-quant.ts), written once at upload, and the per-call activation writers.
 *  - Rows padded to Np = roundup(N, 8) (zero weights, scales 0) so kernels run whole row quads / 8-row blocks.
 *  - int8: [Np, kp] i8, each group padded to gp with zeros.
 *  - int4: [Np, kp/2] bytes in 16-byte chunks of 32 weights: i16 lane l holds weight 8j + l in bits 4j..4j+3.
 *  - scales f32 and (int4) zero points u8 as [Np/4][nG][4 rows]; symmetric int4 stores z = 8.
 * Activations: decode xq [kp] i16, sx [nb] f32, xsum [nb] i32; prefill token quads xq [T4/4][kp/8][4][8] i16,
 * sx [T4/4][nb][4] f32 (tokens past T are zero).
 */
import { dotBlocking, dotGatherIndex, quantizeRow, type DotBlocking } from '../dot-quant.ts';
import type { Int4Weight, Int8Weight } from '../types.ts';

export interface DotLayout {
  format: 'int8' | 'int4';
  n: number;
  /** Rows padded to a multiple of 8. */
  np: number;
  k: number;
  blocking: DotBlocking;
  weightBytes: number;
  scaleBytes: number;
  zeroBytes: number;
}

export function dotLayout(w: Int8Weight | Int4Weight): DotLayout {
  const B = dotBlocking(w.k, w.groupSize);
  const np = Math.ceil(w.n / 8) * 8;
  return {
    format: w.format,
    n: w.n,
    np,
    k: w.k,
    blocking: B,
    weightBytes: w.format === 'int8' ? np * B.kp : (np * B.kp) / 2,
    scaleBytes: np * B.nG * 4,
    zeroBytes: w.format === 'int4' ? np * B.nG : 0,
  };
}

/** Index of (row, group) in the [Np/4][nG][4] scale / zero-point layout. */
const quadIndex = (r: number, g: number, nG: number) => ((r >> 2) * nG + g) * 4 + (r & 3);

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
        dst.set(w.q.subarray(r * k + c0, r * k + c0 + len), r * kp + g * gp);
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
    const o = (r * kp) / 2;
    for (let c = 0; c < kp; c += 32)
      for (let l = 0; l < 8; l++) {
        dst[o + c / 2 + 2 * l] = q[c + l] | (q[c + 8 + l] << 4);
        dst[o + c / 2 + 2 * l + 1] = q[c + 16 + l] | (q[c + 24 + l] << 4);
      }
  }
}

/** Per-handle gather index (perm applied) for the dot blocking. */
export const dotGather = (w: Int8Weight | Int4Weight): Int32Array => dotGatherIndex(w.k, w.groupSize, w.perm);

/** Decode activations: one token gathered and quantized into xq [kp] i16, sx [nb] f32, xsum [nb] i32. */
export function writeDotDecodeX(
  x: Float32Array,
  idx: Int32Array,
  B: DotBlocking,
  xq: Int16Array,
  sx: Float32Array,
  xsum: Int32Array,
): void {
  quantizeRow(x, 0, idx, B.bs, xq, 0, sx, 0, xsum, 0);
}

/**
 * Prefill activations for tokens [0, t) of x (row length k) into token quads: xq [T4/4][kp/8][4][8] i16 and
 * sx [T4/4][nb][4] f32; rows t..T4-1 are zero. row/rowScale are scratch of kp i16 / nb f32.
 */
export function writeDotPrefillX(
  x: Float32Array,
  t: number,
  k: number,
  idx: Int32Array,
  B: DotBlocking,
  xq: Int16Array,
  sx: Float32Array,
  row: Int16Array,
  rowScale: Float32Array,
): void {
  const { kp, nb, bs } = B;
  const t4 = Math.ceil(t / 4) * 4;
  for (let r = 0; r < t4; r++) {
    const quad = r >> 2;
    const lane = r & 3;
    if (r < t) quantizeRow(x, r * k, idx, bs, row, 0, rowScale, 0, null, 0);
    else {
      row.fill(0);
      rowScale.fill(0);
    }
    const qb = quad * kp * 4 + lane * 8;
    for (let i = 0; i < kp; i += 8) {
      const d = qb + i * 4;
      for (let j = 0; j < 8; j++) xq[d + j] = row[i + j];
    }
    const sb = quad * nb * 4 + lane;
    for (let b = 0; b < nb; b++) sx[sb + b * 4] = rowScale[b];
  }
}
