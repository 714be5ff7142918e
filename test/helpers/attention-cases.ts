/** Random attention inputs for the kernel tests: GQA heads, past keys, left padding and (optionally) dropped keys. */
import type { AttentionArgs } from '../../kernels/types.ts';

export interface AttentionCase {
  t: number;
  past: number;
  nKv: number;
  group: number;
  d: number;
  /** Leading keys masked (left padding). */
  pad: number;
  /** Values uniform in (-m, m). */
  m: number;
  /** Chance that any other key is masked too. */
  dropRate?: number;
}

/** q [t, nHeads, d], k/v [past + t, nKv, d] and the key mask, from the random source r; no pattern output. */
export function randomAttention(c: AttentionCase, r: () => number): AttentionArgs {
  const s = c.past + c.t;
  const nHeads = c.nKv * c.group;
  const rand = (n: number) => Float32Array.from({ length: n }, () => (r() * 2 - 1) * c.m);
  const q = rand(c.t * nHeads * c.d);
  const k = rand(s * c.nKv * c.d);
  const v = rand(s * c.nKv * c.d);
  const drop = c.dropRate ?? 0;
  const keyValid = Uint8Array.from({ length: s }, (_, j) => (j < Math.min(c.pad, s) || (drop > 0 && r() < drop) ? 0 : 1));
  return { q, k, v, t: c.t, s, nHeads, nKvHeads: c.nKv, headDim: c.d, keyValid, scale: 1 / Math.sqrt(c.d), patternOut: null };
}
