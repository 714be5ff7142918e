/**
 * The non-matmul ops of the wasm-simd backend, in plain JS. They are O(T·d) (O(T·S·d) for attention)
 * against the O(T·K·N) Linears. The reference versions are used where they are already tight loops;
 * attention is rewritten: the value mix accumulates in a float64 row per (query, head) and is stored
 * once (the reference adds into the f32 output for every key), and the per-key dot product is unrolled.
 */
import type { AttentionArgs } from '../types.ts';

// RMSNorm's JS path (small calls; large ones run in wasm, row-ops.ts) is the reference loop: a four-rows-at-a-time
// version measured slower than it on V8 here.
export {
  rmsNormRef as rmsNorm,
  layerNormRef as layerNorm,
  siluGateRef as siluGate,
  geluRef as gelu,
  addRef as add,
  embeddingRef as embedding,
} from '../reference/ops.ts';

/**
 * RoPE as ropeRef (same angle, cos, sin and products, so the same bits), with cos/sin computed once per position
 * rather than once per head, and kept for the next call with the same positions and frequencies: every layer of a
 * forward pass rotates q and k at the same positions (48 calls per decode step of a 24-layer model).
 */
let ropeKey: { invFreq: Float32Array; pos: Int32Array; half: number } | null = null;
let ropeCos = new Float64Array(0);
let ropeSin = new Float64Array(0);
export function rope(
  x: Float32Array,
  pos: Int32Array,
  t: number,
  nHeads: number,
  headDim: number,
  invFreq: Float32Array,
  out?: Float32Array,
): Float32Array {
  const half = headDim / 2;
  const k = ropeKey;
  // Compared by value (32-64 numbers at decode): a caller may reuse or edit its arrays in place.
  let hit = k !== null && k.half === half && k.pos.length === t;
  for (let i = 0; hit && i < t; i++) hit = k!.pos[i] === pos[i];
  for (let c = 0; hit && c < half; c++) hit = Object.is(k!.invFreq[c], invFreq[c]);
  if (!hit) {
    if (ropeCos.length < t * half) {
      ropeCos = new Float64Array(t * half);
      ropeSin = new Float64Array(t * half);
    }
    for (let i = 0; i < t; i++)
      for (let c = 0; c < half; c++) {
        const ang = Math.fround(pos[i] * invFreq[c]);
        ropeCos[i * half + c] = Math.cos(ang);
        ropeSin[i * half + c] = Math.sin(ang);
      }
    // A copy: the caller may reuse its position array.
    ropeKey = { invFreq: invFreq.slice(0, half), pos: pos.slice(0, t), half };
  }
  // The caller's array when it fits (models/step-buffers.ts): a fresh one costs page faults on first write.
  const y = out && out.length === x.length ? out : new Float32Array(x.length);
  for (let i = 0; i < t; i++) {
    const r = i * half;
    for (let h = 0; h < nHeads; h++) {
      const o = (i * nHeads + h) * headDim;
      for (let c = 0; c < half; c++) {
        const cs = ropeCos[r + c];
        const sn = ropeSin[r + c];
        const a = x[o + c];
        const b = x[o + c + half];
        y[o + c] = a * cs - b * sn;
        y[o + c + half] = b * cs + a * sn;
      }
    }
  }
  return y;
}

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
