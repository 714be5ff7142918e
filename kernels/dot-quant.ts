/**
 * The integer-dot path's definition, shared by the fast kernels (kernels/wasm, "dot" layout) and the reference
 * (kernels/reference/linear-dot.ts), so both compute exactly the same thing:
 *
 *  - Blocking. Each weight group (G input channels; the whole row for per-channel) is padded to gp elements and
 *    split into blocks of bs elements (bs = gp when gp <= 256, else a multiple of 32 in [128, 256] that wastes
 *    the least padding; gp is then a multiple of bs). Pads hold zero activations.
 *  - Activations. Per call, every block of x (after the perm gather) is quantized to int16 with its own scale:
 *    sx = fround(absmax / 32767), xq = round(x * 32767 / absmax) in [-32767, 32767] (double arithmetic, so
 *    |xq| <= 32767 exactly). Error: |xq sx - x| <= absmax (2^-16 + 2^-24) (half a step of absmax/32767,
 *    plus sx's own rounding of <= 2^-24 relative, times |xq| <= 32767).
 *  - Products. Per (row, block): I = Σ (q - z) xq, an exact integer (|I| < 2^31: int8 |q| <= 128 gives
 *    <= 256 * 128 * 32767 < 2^30; int4 |q - z| <= 15). Then, in f32 (fround after every operation):
 *    accG = Σ_blocks (f32(I) * sx) in block order, y = Σ_groups (accG * scale) in group order.
 * So the only approximations are the activation rounding above and the f32 roundings of these few sums
 * (at most nBlocks + 2 nGroups roundings per output): far below the weights' own quantization step.
 *
 * 8-bit activations (`activationBits: 8`, int4 weights only, the relaxed-SIMD kernel `i4q_mv`): the same
 * definition with QMAX = 127 and blocks of at most 128 (the kernel sums 4 products of |q| <= 15, |xq| <= 127 per
 * i16 lane per 32 weights, so 128 weights stay below 2^15). Error |xq sx - x| <= absmax (1/254 + 2^-24): ggml's
 * q8_0 activations (its blocks are 32); visible next to 2^-16, still below int4's own step (scale / 2 per weight).
 */
import { nGroups } from './formats.ts';
import type { LinearWeight } from './types.ts';

/** Activation precision of the integer-dot path: int16 (default) or int8 (relaxed-SIMD int4 kernel). */
export type ActivationBits = 16 | 8;

/**
 * Largest activation block: 256 keeps every per-lane partial sum of the 16-bit kernels below 2^31; 128 keeps the
 * 8-bit kernel's i16 lane sums below 2^15.
 */
export const MAX_BLOCK = 256;
const maxBlock = (bits: ActivationBits) => (bits === 16 ? MAX_BLOCK : 128);
/** Largest quantized activation magnitude. */
export const activationMax = (bits: ActivationBits): number => (bits === 16 ? 32767 : 127);

export interface DotBlocking {
  /** Canonical group size (clamped to K). */
  gs: number;
  nG: number;
  /** Padded group length (multiple of 32 and of bs). */
  gp: number;
  /** Activation block length. */
  bs: number;
  /** Padded row length nG * gp. */
  kp: number;
  /** Blocks per row (kp / bs). */
  nb: number;
}

const roundUp = (v: number, m: number) => Math.ceil(v / m) * m;

export function dotBlocking(k: number, groupSize: number, bits: ActivationBits = 16): DotBlocking {
  const gs = Math.min(groupSize, k);
  const nG = nGroups(k, groupSize);
  let gp = roundUp(gs, 32);
  let bs = gp;
  const max = maxBlock(bits);
  if (gp > max) {
    bs = max;
    for (const c of bits === 16 ? [256, 224, 192, 160, 128] : [128, 96, 64]) if (roundUp(gp, c) < roundUp(gp, bs)) bs = c;
    gp = roundUp(gp, bs);
  }
  const kp = nG * gp;
  return { gs, nG, gp, bs, kp, nb: kp / bs };
}

/** The weights the integer-dot path runs: int8 / int4 only. */
export const usesDotPath = (w: Pick<LinearWeight, 'format'>): boolean => w.format === 'int8' || w.format === 'int4';

/**
 * Source column of each padded position (length kp, -1 for pads) for the dot blocking, perm applied:
 * position g * gp + e holds canonical column g * gs + e (e < group length).
 */
export function dotGatherIndex(k: number, groupSize: number, perm: Int32Array | null | undefined, bits: ActivationBits = 16): Int32Array {
  const B = dotBlocking(k, groupSize, bits);
  const idx = new Int32Array(B.kp).fill(-1);
  for (let c = 0; c < k; c++) {
    const g = Math.floor(c / B.gs);
    idx[g * B.gp + (c - g * B.gs)] = perm ? perm[c] : c;
  }
  return idx;
}

/**
 * Math.round(v) (ties toward +∞), exactly, for finite |v| < 2^52. V8 on this machine spends ~10 ns on a Math.round
 * call and ~2 on floor: it was most of the prefill's activation quantization. floor(v + 0.5) is Math.round except
 * where v + 0.5 rounds up to the next integer (v = 0.5 - 2^-54); r - 0.5 is exact, and r - 0.5 > v catches that.
 */
export function roundHalfUp(v: number): number {
  const r = Math.floor(v + 0.5);
  return r - 0.5 > v ? r - 1 : r;
}

/**
 * Gathers and quantizes one token row x[xBase .. xBase + K) into xq (length kp, positions by `idx`), block
 * scales sx (nb) and block sums (nb). The one implementation both the wasm backend and the reference use.
 */
export function quantizeRow(
  x: ArrayLike<number>,
  xBase: number,
  idx: Int32Array,
  bs: number,
  xq: Int16Array | Int8Array,
  xqOff: number,
  sx: Float32Array,
  sxOff: number,
  sums: Int32Array | null,
  sumOff: number,
  bits: ActivationBits = 16,
): void {
  const nb = idx.length / bs;
  const QMAX = activationMax(bits);
  for (let b = 0; b < nb; b++) {
    const from = b * bs;
    let amax = 0;
    for (let i = from; i < from + bs; i++) {
      const s = idx[i];
      if (s >= 0) {
        const v = Math.abs(x[xBase + s]);
        if (v > amax || v !== v) amax = v !== v ? NaN : v;
      }
    }
    let sum = 0;
    if (amax > 0 && amax !== Infinity) {
      for (let i = from; i < from + bs; i++) {
        const s = idx[i];
        const v = s < 0 ? 0 : roundHalfUp((x[xBase + s] * QMAX) / amax);
        xq[xqOff + i] = v;
        sum += v;
      }
      sx[sxOff + b] = Math.fround(amax / QMAX);
    } else {
      // All zero: exact zeros. NaN / Infinity: the block's outputs become NaN, as an f32 product would.
      xq.fill(0, xqOff + from, xqOff + from + bs);
      sx[sxOff + b] = amax === 0 ? 0 : NaN;
    }
    if (sums) sums[sumOff + b] = sum;
  }
}
