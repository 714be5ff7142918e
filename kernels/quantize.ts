/**
 * Round-to-nearest (RTN) quantizers into the layouts of kernels/formats.ts, their "fake" (quantize then
 * dequantize) variants used inside compression algorithms, and int4 nibble pack/unpack.
 *
 * Grids (per row n and group g = columns [g*G, min((g+1)*G, K)), the last group may be partial):
 *  - int8, symmetric: s = absmax / 127, q = clamp(round(w / s), -127, 127). -128 is never produced so the
 *    grid is symmetric around 0 (a sign flip of W flips q exactly).
 *  - int4, asymmetric: the range is widened to include 0 (lo = min(min, 0), hi = max(max, 0), as GPTQ's
 *    quantizer does) so the zero point always lies on the grid and 0 is represented exactly;
 *    s = (hi - lo) / 15, z = clamp(round(-lo / s), 0, 15), q = clamp(round(w / s) + z, 0, 15).
 *  - int4, symmetric: s = absmax / 7 and z = 8, q = clamp(round(w / s) + 8, 1, 15). Dividing by 7 (not 8)
 *    keeps both ±absmax on the grid, so |w - deq| <= s/2 holds for every element; code 0 (-8) is unused.
 * Every element then satisfies |w - deq| <= s/2 up to f32 rounding of s and of the product.
 * An all-zero group gets s = 0 (q = 0 for int8, q = z for int4): it dequantizes to exact zeros, no NaN.
 * Rounding is half away from zero (C `roundf`, PyTorch differs only on exact ties: half to even).
 */
import { NonFiniteError } from '../engine/errors.ts';
import { roundHalfUp } from './dot-quant.ts';
import { nGroups } from './formats.ts';
import type { Int4Weight, Int8Weight } from './types.ts';

export interface Int4Options {
  sym: boolean;
}

/**
 * Half away from zero; Math.round rounds -2.5 to -2, which would make the grid asymmetric. roundHalfUp is Math.round
 * computed with floor (dot-quant.ts): the same value, where a Math.round call costs ~10 ns on this machine's V8 (it
 * was half of the load-time quantization of a checkpoint).
 */
const roundHalfAway = (x: number): number => (x < 0 ? -roundHalfUp(-x) : roundHalfUp(x));
const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);

function checkArgs(w: Float32Array, n: number, k: number, groupSize: number, name: string): number {
  if (!(Number.isInteger(n) && Number.isInteger(k) && n > 0 && k > 0)) throw new RangeError(`${name}: bad dims [${n}, ${k}]`);
  if (w.length !== n * k) throw new RangeError(`${name}: ${w.length} values for [${n}, ${k}]`);
  if (!(Number.isInteger(groupSize) && groupSize > 0)) throw new RangeError(`${name}: bad group size ${groupSize}`);
  for (let i = 0; i < w.length; i++)
    if (w[i] - w[i] !== 0) throw new NonFiniteError(`${name}: non-finite value ${w[i]} at [${Math.floor(i / k)}, ${i % k}]`);
  return nGroups(k, groupSize);
}

/** Symmetric RTN int8 with per-(row, group) scales; groupSize K = per output channel. */
export function quantizeInt8(w: Float32Array, n: number, k: number, groupSize = k, name = 'weight'): Int8Weight {
  const g = checkArgs(w, n, k, groupSize, name);
  const q = new Int8Array(n * k);
  const scales = new Float32Array(n * g);
  for (let r = 0; r < n; r++)
    for (let gi = 0; gi < g; gi++) {
      const c0 = gi * groupSize;
      const c1 = Math.min(k, c0 + groupSize);
      let amax = 0; // every value is finite (checkArgs)
      for (let c = r * k + c0; c < r * k + c1; c++) {
        const a = Math.abs(w[c]);
        if (a > amax) amax = a;
      }
      // The scale is stored in f32, so quantize against the stored value (what dequantize multiplies by).
      const s = Math.fround(amax / 127);
      scales[r * g + gi] = s;
      if (s === 0) continue; // all-zero group (or below f32 range): q stays 0
      for (let c = r * k + c0; c < r * k + c1; c++) q[c] = clamp(roundHalfAway(w[c] / s), -127, 127);
    }
  return { format: 'int8', n, k, groupSize, q, scales };
}

/** RTN int4 into the packed nibble layout, asymmetric (per-group zero points) or symmetric (z = 8). */
export function quantizeInt4(w: Float32Array, n: number, k: number, groupSize: number, opts: Int4Options, name = 'weight'): Int4Weight {
  const g = checkArgs(w, n, k, groupSize, name);
  const rb = Math.ceil(k / 2);
  const packed = new Uint8Array(n * rb); // packInt4's layout, written directly (no [N, K] code array)
  const scales = new Float32Array(n * g);
  const zeros = opts.sym ? null : new Uint8Array(n * g);
  for (let r = 0; r < n; r++) {
    const base = r * k;
    const out = r * rb;
    for (let gi = 0; gi < g; gi++) {
      const c0 = gi * groupSize;
      const c1 = Math.min(k, c0 + groupSize);
      let lo = 0;
      let hi = 0;
      for (let c = base + c0; c < base + c1; c++) {
        const v = w[c];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const s = Math.fround(opts.sym ? Math.max(hi, -lo) / 7 : (hi - lo) / 15);
      let z = 8;
      if (!opts.sym) z = s === 0 ? 0 : clamp(roundHalfAway(-lo / s), 0, 15);
      scales[r * g + gi] = s;
      if (zeros) zeros[r * g + gi] = z;
      for (let c = c0; c < c1; c++) {
        const code = s === 0 ? z : clamp(roundHalfAway(w[base + c] / s) + z, 0, 15);
        packed[out + (c >> 1)] |= c & 1 ? code << 4 : code;
      }
    }
  }
  return { format: 'int4', n, k, groupSize, packed, scales, zeros };
}

/**
 * Packs unsigned 4-bit codes [N, K] (one per byte, 0..15) into rows of ceil(K/2) bytes: k = 2j in the low
 * nibble of byte j, k = 2j+1 in its high nibble; an odd K leaves the last high nibble 0.
 */
export function packInt4(codes: Uint8Array, n: number, k: number): Uint8Array {
  if (codes.length !== n * k) throw new RangeError(`packInt4: ${codes.length} codes for [${n}, ${k}]`);
  const rb = Math.ceil(k / 2);
  const out = new Uint8Array(n * rb);
  for (let r = 0; r < n; r++)
    for (let c = 0; c < k; c++) {
      const v = codes[r * k + c];
      if (v > 15) throw new RangeError(`packInt4: code ${v} at [${r}, ${c}] exceeds 15`);
      out[r * rb + (c >> 1)] |= c & 1 ? v << 4 : v;
    }
  return out;
}

/** Inverse of packInt4: one unsigned code per byte, [N, K]. */
export function unpackInt4(packed: Uint8Array, n: number, k: number): Uint8Array {
  const rb = Math.ceil(k / 2);
  if (packed.length !== n * rb) throw new RangeError(`unpackInt4: ${packed.length} bytes for [${n}, ${k}]`);
  const out = new Uint8Array(n * k);
  for (let r = 0; r < n; r++)
    for (let c = 0; c < k; c++) {
      const b = packed[r * rb + (c >> 1)];
      out[r * k + c] = c & 1 ? b >> 4 : b & 15;
    }
  return out;
}

/** quantizeInt8 then dequantize, as f32 [N, K] (simulated quantization inside GPTQ / AWQ searches). */
export function fakeQuantizeInt8(w: Float32Array, n: number, k: number, groupSize = k): Float32Array {
  const qw = quantizeInt8(w, n, k, groupSize);
  const g = nGroups(k, groupSize);
  const out = new Float32Array(n * k);
  for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) out[r * k + c] = qw.q[r * k + c] * qw.scales[r * g + Math.floor(c / groupSize)];
  return out;
}

/** quantizeInt4 then dequantize, as f32 [N, K]. */
export function fakeQuantizeInt4(w: Float32Array, n: number, k: number, groupSize: number, opts: Int4Options): Float32Array {
  const qw = quantizeInt4(w, n, k, groupSize, opts);
  const codes = unpackInt4(qw.packed, n, k);
  const g = nGroups(k, groupSize);
  const out = new Float32Array(n * k);
  for (let r = 0; r < n; r++)
    for (let c = 0; c < k; c++) {
      const gi = r * g + Math.floor(c / groupSize);
      out[r * k + c] = (codes[r * k + c] - (qw.zeros ? qw.zeros[gi] : 8)) * qw.scales[gi];
    }
  return out;
}

/**
 * Fake-quantizes one column group given fixed grid parameters (GPTQ quantizes column by column against a
 * grid fixed per group): returns s * (clamp(round(x / s) + z, 0, maxq) - z); s = 0 gives 0.
 */
export function fakeQuantizeValue(x: number, scale: number, zero: number, maxq: number): number {
  if (scale === 0) return 0;
  return Math.fround(scale * (clamp(roundHalfAway(x / scale) + zero, 0, maxq) - zero));
}
