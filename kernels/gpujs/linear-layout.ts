/**
 * How a LinearWeight is laid out as gpu.js constants. gpu.js stores every element as one f32, so:
 *  - rows are split into groups padded to a multiple of 4 (the kernels unroll ×4 and a group's scale is
 *    applied once per group), f32 being one group spanning K;
 *  - int4 is "pack16": 4 nibbles per element as an integer < 2^16 (f32-exact), 1 B/weight of wasm memory
 *    instead of 4 (cpu-performance.md B6.6 / B7.4);
 *  - the per-call input is gathered into the same padded order (`src`), which also applies `perm`, so
 *    padding and act-order cost one K-length copy per token and nothing per weight.
 * Everything is 2-D [N][rowLen] so no flat index exceeds 2^24 (webasm computes indices in f32, B6.1).
 */
import { nGroups, widenBf16Weight } from '../formats.ts';
import type { LinearWeight } from '../types.ts';

export interface GpujsLinearLayout {
  /** Groups per row and padded group width (multiple of 4). */
  groups: number;
  groupPad: number;
  /** Elements per row of `w` (groups*groupPad, or /4 for int4). */
  rowLen: number;
  /** [N * rowLen] weights: f32 values, int8 values, or pack16 int4. */
  w: Float32Array;
  /** [N * groups] scales and zero points (null for f32). */
  scales: Float32Array | null;
  zeros: Float32Array | null;
  /** Padded input slot i reads x[src[i]], or 0 when src[i] < 0. */
  src: Int32Array;
}

export function layoutLinear(weight: LinearWeight): GpujsLinearLayout {
  // bf16 is laid out as the f32 weight it stands for (exact widening).
  const lw = weight.format === 'bf16' ? widenBf16Weight(weight) : weight;
  const { n, k } = lw;
  const gs = lw.format === 'f32' ? k : lw.groupSize;
  const groups = lw.format === 'f32' ? 1 : nGroups(k, gs);
  const groupPad = Math.ceil(gs / 4) * 4;
  const xLen = groups * groupPad;
  const src = new Int32Array(xLen).fill(-1);
  for (let g = 0; g < groups; g++)
    for (let c = 0; c < gs && g * gs + c < k; c++) {
      const j = g * gs + c;
      src[g * groupPad + c] = lw.perm ? lw.perm[j] : j;
    }
  if (lw.format === 'int4') {
    const rowLen = xLen / 4;
    const w = new Float32Array(n * rowLen);
    const rowBytes = Math.ceil(k / 2);
    const mul = [1, 16, 256, 4096];
    for (let r = 0; r < n; r++) {
      const wo = r * rowLen;
      const bo = r * rowBytes;
      for (let g = 0, j = 0; g < groups; g++)
        for (let c = 0; c < gs && j < k; c++, j++) {
          const byte = lw.packed[bo + (j >> 1)];
          const p = g * groupPad + c; // padded slot of stored column j
          w[wo + (p >> 2)] += (j & 1 ? byte >> 4 : byte & 15) * mul[p & 3];
        }
    }
    const zeros = new Float32Array(n * groups);
    if (lw.zeros) zeros.set(lw.zeros);
    else zeros.fill(8);
    return { groups, groupPad, rowLen, w, scales: Float32Array.from(lw.scales), zeros, src };
  }
  const rowLen = xLen;
  const w = new Float32Array(n * rowLen);
  const vals = lw.format === 'f32' ? lw.w : lw.q;
  for (let r = 0; r < n; r++)
    for (let g = 0; g < groups; g++) {
      const from = r * k + g * gs;
      w.set(vals.subarray(from, Math.min(from + gs, (r + 1) * k)), r * rowLen + g * groupPad);
    }
  const scales = lw.format === 'int8' ? Float32Array.from(lw.scales) : null;
  return { groups, groupPad, rowLen, w, scales, zeros: null, src };
}

/** Row `t` of x [T, K] gathered into padded slot order. */
export function gatherInput(x: Float32Array, t: number, k: number, src: Int32Array, out: Float32Array): Float32Array {
  const o = t * k;
  for (let i = 0; i < src.length; i++) out[i] = src[i] >= 0 ? x[o + src[i]] : 0;
  return out;
}
