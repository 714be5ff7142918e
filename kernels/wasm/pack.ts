/**
 * Repacking of the canonical LinearWeight layouts (kernels/types.ts) into the layout matmul.wat reads,
 * done once at upload, straight into wasm memory. Every row is nG groups, each padded to gp elements
 * (a multiple of 16 for f32/int8, 32 for int4) so the kernels need no tail loops:
 *  - f32:  one group of gp = roundup(K, 16) floats per row.
 *  - bf16: the same with u16 bf16 patterns (widened exactly in the kernel).
 *  - int8: gp bytes per group, pads 0.
 *  - int4: gp/2 bytes per group in 16-byte blocks; byte b of a block holds element 32j+b in its low
 *          nibble and 32j+16+b in its high nibble. With zero points, nibbles hold q and pads hold the
 *          group's zero point, so (q - z) = 0; symmetric (z = 8) nibbles hold q ^ 8 (q - 8 as a signed
 *          nibble, which the kernel i4s_mv reads without any zero point) and pads hold 0.
 * x is gathered per call into the same padded layout (perm applied, pads 0): see gatherIndex. For int8
 * and int4 every 16-element block of x is also transposed as a 4x4 matrix: the kernels move byte j of
 * each 32-bit lane l of a 16-byte weight vector to the top of the lane (weight 4l + j), so the x vector they
 * multiply it with must hold x[4l + j] in lane l: padded position 4j + l holds element 4l + j.
 */
import { nGroups } from '../formats.ts';
import type { LinearWeight } from '../types.ts';

export interface PackedLayout {
  format: LinearWeight['format'];
  n: number;
  k: number;
  /** Canonical group size (K for f32). */
  groupSize: number;
  nG: number;
  /** Padded group length in elements. */
  gp: number;
  /** Padded row length in elements = nG * gp (the gathered x row length). */
  kp: number;
  /** Bytes of packed weights, scales (f32) and zero points (u8; 0 when symmetric or not quantized). */
  weightBytes: number;
  scaleBytes: number;
  zeroBytes: number;
}

const roundUp = (v: number, m: number) => Math.ceil(v / m) * m;

export function packedLayout(w: LinearWeight): PackedLayout {
  const { n, k } = w;
  if (w.format === 'f32' || w.format === 'bf16') {
    const kp = roundUp(k, 16);
    return {
      format: w.format,
      n,
      k,
      groupSize: k,
      nG: 1,
      gp: kp,
      kp,
      weightBytes: n * kp * (w.format === 'f32' ? 4 : 2),
      scaleBytes: 0,
      zeroBytes: 0,
    };
  }
  const gs = Math.min(w.groupSize, k);
  const nG = nGroups(k, w.groupSize);
  const gp = roundUp(gs, w.format === 'int8' ? 16 : 32);
  const kp = nG * gp;
  const zeroBytes = w.format === 'int4' && w.zeros ? n * nG : 0;
  return {
    format: w.format,
    n,
    k,
    groupSize: w.groupSize,
    nG,
    gp,
    kp,
    weightBytes: w.format === 'int8' ? n * kp : (n * kp) / 2,
    scaleBytes: n * nG * 4,
    zeroBytes,
  };
}

/** Position of element e of a group within its padded group (the 4x4 transpose of int formats). */
export function lanePosition(format: LinearWeight['format'], e: number): number {
  if (format === 'f32' || format === 'bf16') return e;
  return (e & ~15) | ((e & 3) << 2) | ((e & 15) >> 2);
}

/**
 * Source column (in the caller's x) of each padded position, -1 for pads; null when the padded row is
 * x itself (f32 without perm or padding).
 */
export function gatherIndex(w: LinearWeight, L: PackedLayout): Int32Array | null {
  const dense = L.format === 'f32' || L.format === 'bf16';
  if (dense && !w.perm && L.kp === L.k) return null;
  const idx = new Int32Array(L.kp).fill(-1);
  const gs = dense ? L.k : L.groupSize;
  for (let c = 0; c < L.k; c++) {
    const g = Math.floor(c / gs);
    idx[g * L.gp + lanePosition(L.format, c - g * gs)] = w.perm ? w.perm[c] : c;
  }
  return idx;
}

/** Writes x [T, K] gathered and padded into dst [T, kp] (dst is a view into wasm memory). */
export function gatherInput(x: Float32Array, t: number, k: number, kp: number, idx: Int32Array | null, dst: Float32Array): void {
  if (!idx) {
    dst.set(x.subarray(0, t * k));
    return;
  }
  for (let r = 0; r < t; r++) {
    const xo = r * k;
    const d = r * kp;
    for (let i = 0; i < kp; i++) {
      const s = idx[i];
      dst[d + i] = s < 0 ? 0 : x[xo + s];
    }
  }
}

/**
 * Writes the packed weights of w into mem at byte offsets wOff (16-aligned), sOff (4-aligned), zOff.
 * buf is the memory's buffer (views are made per array: a whole-4-GiB view may exceed typed-array limits).
 */
export function writePacked(w: LinearWeight, L: PackedLayout, buf: ArrayBufferLike, wOff: number, sOff: number, zOff: number): void {
  const { n, k, nG, gp, kp } = L;
  if (w.format === 'f32') {
    const dst = new Float32Array(buf, wOff, n * kp);
    if (kp === k) dst.set(w.w);
    else
      for (let r = 0; r < n; r++) {
        dst.set(w.w.subarray(r * k, r * k + k), r * kp);
        dst.fill(0, r * kp + k, r * kp + kp);
      }
    return;
  }
  if (w.format === 'bf16') {
    const dst = new Uint16Array(buf, wOff, n * kp);
    if (kp === k) dst.set(w.w);
    else
      for (let r = 0; r < n; r++) {
        dst.set(w.w.subarray(r * k, r * k + k), r * kp);
        dst.fill(0, r * kp + k, r * kp + kp);
      }
    return;
  }
  new Float32Array(buf, sOff, n * nG).set(w.scales);
  const gs = w.groupSize;
  if (w.format === 'int8') {
    const dst = new Int8Array(buf, wOff, n * kp);
    if (kp === k) {
      dst.set(w.q);
      return;
    }
    for (let r = 0; r < n; r++)
      for (let g = 0; g < nG; g++) {
        const c0 = g * gs;
        const len = Math.min(gs, k - c0);
        const o = r * kp + g * gp;
        dst.set(w.q.subarray(r * k + c0, r * k + c0 + len), o);
        dst.fill(0, o + len, o + gp);
      }
    return;
  }
  if (w.zeros) new Uint8Array(buf, zOff, w.zeros.length).set(w.zeros);
  const rowBytes = Math.ceil(k / 2);
  const src = w.packed;
  const dst = new Uint8Array(buf, wOff, (n * kp) / 2);
  const blocks = gp / 32;
  let o = 0;
  for (let r = 0; r < n; r++) {
    const rb = r * rowBytes;
    for (let g = 0; g < nG; g++) {
      const c0 = g * gs;
      const len = Math.min(gs, k - c0);
      // Symmetric: flip bit 3 (q ^ 8) so the nibble is q - 8 in two's complement; pads become 0.
      const flip = w.zeros ? 0 : 8;
      const pad = w.zeros ? w.zeros[r * nG + g] : 0;
      for (let j = 0; j < blocks; j++) {
        for (let b = 0; b < 16; b++) {
          const e0 = j * 32 + b;
          const e1 = e0 + 16;
          const c = c0 + e0;
          const d = c0 + e1;
          const lo = e0 < len ? (c & 1 ? src[rb + (c >> 1)] >> 4 : src[rb + (c >> 1)] & 15) ^ flip : pad;
          const hi = e1 < len ? (d & 1 ? src[rb + (d >> 1)] >> 4 : src[rb + (d >> 1)] & 15) ^ flip : pad;
          dst[o++] = lo | (hi << 4);
        }
      }
    }
  }
}

/**
 * Prefill layout of x: token quads [ceil(T/4)][kp/4][4 tokens][4 floats] (tokens past T are zero),
 * each token's row gathered and padded as in gatherInput. dst holds ceil(T/4) * 4 * kp floats.
 */
export function gatherQuads(x: Float32Array, t: number, k: number, kp: number, idx: Int32Array | null, dst: Float32Array): void {
  const t4 = Math.ceil(t / 4) * 4;
  for (let r = 0; r < t4; r++) {
    const base = (r >> 2) * kp * 4 + (r & 3) * 4;
    const xo = r * k;
    if (r >= t) {
      for (let i = 0; i < kp; i += 4) dst.fill(0, base + i * 4, base + i * 4 + 4);
    } else if (!idx) {
      for (let i = 0; i < kp; i++) dst[base + ((i >> 2) << 4) + (i & 3)] = x[xo + i];
    } else {
      for (let i = 0; i < kp; i++) {
        const s = idx[i];
        dst[base + ((i >> 2) << 4) + (i & 3)] = s < 0 ? 0 : x[xo + s];
      }
    }
  }
}
