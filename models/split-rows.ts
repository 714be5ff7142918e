/** Row ranges of a Linear weight (gpt2's fused c_attn -> q, k, v), for every stored format. */
import type { LinearWeight } from '../kernels/types.ts';

export function sliceRows(w: LinearWeight, r0: number, r1: number): LinearWeight {
  const n = r1 - r0;
  const { k } = w;
  const perm = w.perm ?? null;
  if (w.format === 'f32') return { format: 'f32', n, k, w: w.w.slice(r0 * k, r1 * k), perm };
  if (w.format === 'bf16') return { format: 'bf16', n, k, w: w.w.slice(r0 * k, r1 * k), perm };
  const g = Math.ceil(k / w.groupSize);
  const scales = w.scales.slice(r0 * g, r1 * g);
  if (w.format === 'int8') return { format: 'int8', n, k, groupSize: w.groupSize, q: w.q.slice(r0 * k, r1 * k), scales, perm };
  const rb = Math.ceil(k / 2);
  return {
    format: 'int4',
    n,
    k,
    groupSize: w.groupSize,
    packed: w.packed.slice(r0 * rb, r1 * rb),
    scales,
    zeros: w.zeros ? w.zeros.slice(r0 * g, r1 * g) : null,
    perm,
  };
}

/** Rows of same-format weights stacked into one [sum N, K] (formats, K, group size and zero kind agree). */
export function concatRows(ws: LinearWeight[]): LinearWeight {
  const a = ws[0];
  const n = ws.reduce((s, w) => s + w.n, 0);
  const cat = <T extends Float32Array | Int8Array | Uint8Array | Uint16Array>(parts: T[], make: (len: number) => T): T => {
    const out = make(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  if (a.format === 'f32')
    return {
      format: 'f32',
      n,
      k: a.k,
      w: cat(
        ws.map((w) => (w as typeof a).w),
        (l) => new Float32Array(l),
      ),
    };
  if (a.format === 'bf16')
    return {
      format: 'bf16',
      n,
      k: a.k,
      w: cat(
        ws.map((w) => (w as typeof a).w),
        (l) => new Uint16Array(l),
      ),
    };
  const scales = cat(
    ws.map((w) => (w as typeof a).scales),
    (l) => new Float32Array(l),
  );
  if (a.format === 'int8')
    return {
      format: 'int8',
      n,
      k: a.k,
      groupSize: a.groupSize,
      q: cat(
        ws.map((w) => (w as typeof a).q),
        (l) => new Int8Array(l),
      ),
      scales,
    };
  const int4 = ws as (typeof a)[];
  return {
    format: 'int4',
    n,
    k: a.k,
    groupSize: a.groupSize,
    scales,
    packed: cat(
      int4.map((w) => w.packed),
      (l) => new Uint8Array(l),
    ),
    zeros: a.zeros
      ? cat(
          int4.map((w) => w.zeros!),
          (l) => new Uint8Array(l),
        )
      : null,
  };
}
