/**
 * The non-matmul ops of the wasm-simd backend, in plain JS. They are O(T·d) (O(T·S·d) for attention)
 * against the O(T·K·N) Linears. The reference versions are used where they are already tight loops;
 * attention is rewritten: the value mix accumulates in a float64 row per (query, head) and is stored
 * once (the reference adds into the f32 output for every key), and the per-key dot product is unrolled.
 */
import type { AttentionArgs } from '../types.ts';

export {
  rmsNormRef as rmsNorm,
  layerNormRef as layerNorm,
  ropeRef as rope,
  siluGateRef as siluGate,
  geluRef as gelu,
  addRef as add,
  embeddingRef as embedding,
} from '../reference/ops.ts';

/** Reused per call (attention is synchronous): two fresh Float64Arrays per head-call cost more than the math at decode. */
let scoresBuf = new Float64Array(256);
let accBuf = new Float64Array(0);
function scratch(s: number, d: number): { scores: Float64Array; acc: Float64Array } {
  if (scoresBuf.length < s) scoresBuf = new Float64Array(Math.max(s, 2 * scoresBuf.length));
  if (accBuf.length !== d) accBuf = new Float64Array(d); // exactly d: it is copied out whole (out.set)
  return { scores: scoresBuf, acc: accBuf };
}

/** Causal GQA attention with a padding mask (same contract as attentionRef, kernels/types.ts AttentionArgs). */
export function attention(a: AttentionArgs): Float32Array {
  const { q, k, v, t, s, nHeads, nKvHeads, headDim: d, keyValid, scale, patternOut } = a;
  // Rows that see no key are skipped below and must read zero: a reused destination is cleared first.
  const out = a.out && a.out.length === t * nHeads * d ? a.out.fill(0) : new Float32Array(t * nHeads * d);
  const group = nHeads / nKvHeads;
  const kvStride = nKvHeads * d;
  const { scores, acc } = scratch(s, d);
  const d4 = d & ~3;
  for (let i = 0; i < t; i++) {
    const last = s - t + i; // absolute slot of this query
    for (let h = 0; h < nHeads; h++) {
      const kh = Math.floor(h / group);
      const qo = (i * nHeads + h) * d;
      let max = -Infinity;
      let visible = false;
      for (let j = 0; j <= last; j++) {
        if (!keyValid[j]) {
          scores[j] = -Infinity;
          continue;
        }
        visible = true;
        const ko = j * kvStride + kh * d;
        let d0 = 0,
          d1 = 0,
          d2 = 0,
          d3 = 0;
        let c = 0;
        for (; c < d4; c += 4) {
          d0 += q[qo + c] * k[ko + c];
          d1 += q[qo + c + 1] * k[ko + c + 1];
          d2 += q[qo + c + 2] * k[ko + c + 2];
          d3 += q[qo + c + 3] * k[ko + c + 3];
        }
        for (; c < d; c++) d0 += q[qo + c] * k[ko + c];
        const sc = (d0 + d1 + (d2 + d3)) * scale;
        scores[j] = sc;
        if (sc > max || sc !== sc) max = sc; // NaN is sticky: it poisons the row, as in the reference
      }
      if (!visible) continue; // no visible key: zeros, as the reference
      if (max === -Infinity) max = NaN; // visible keys but all scores -Inf: NaN, as the reference
      let sum = 0;
      for (let j = 0; j <= last; j++) {
        const e = keyValid[j] ? Math.exp(scores[j] - max) : 0;
        scores[j] = e;
        sum += e;
      }
      acc.fill(0);
      const inv = 1 / sum;
      const po = (h * t + i) * s;
      for (let j = 0; j <= last; j++) {
        const p = scores[j] * inv;
        if (patternOut) patternOut[po + j] = p;
        if (p === 0) continue;
        const vo = j * kvStride + kh * d;
        for (let c = 0; c < d; c++) acc[c] += p * v[vo + c];
      }
      out.set(acc, qo);
    }
  }
  return out;
}
