/**
 * Plain-TypeScript reference implementations: the executable definition of every kernel.
 * Accumulation is in float64 (JS numbers); outputs are f32. Fast kernels (wasm SIMD, GPU.js) are
 * property-tested against these.
 */
import { dequantize } from '../formats.ts';
import type { AttentionArgs, LinearWeight } from '../types.ts';

/** The caller's destination when it has the result's length (Backend: `out`), else a fresh array. */
function dest(out: Float32Array | undefined, n: number): Float32Array {
  return out && out.length === n ? out : new Float32Array(n);
}

/** y [T, N] = x [T, K] · Wᵀ (+ bias), W dequantized first (perm undone). */
export function linearRef(w: LinearWeight, x: Float32Array, t: number, bias?: Float32Array | null): Float32Array {
  const { n, k } = w;
  const W = dequantize(w);
  const y = new Float32Array(t * n);
  for (let i = 0; i < t; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      const xo = i * k;
      const wo = j * k;
      for (let c = 0; c < k; c++) acc += x[xo + c] * W[wo + c];
      y[i * n + j] = acc + (bias ? bias[j] : 0);
    }
  }
  return y;
}

export function rmsNormRef(
  x: Float32Array,
  w: Float32Array,
  t: number,
  d: number,
  eps: number,
  addOne = false,
  out?: Float32Array,
): Float32Array {
  const y = dest(out, t * d);
  for (let i = 0; i < t; i++) {
    let ss = 0;
    for (let c = 0; c < d; c++) ss += x[i * d + c] * x[i * d + c];
    const inv = 1 / Math.sqrt(ss / d + eps);
    for (let c = 0; c < d; c++) y[i * d + c] = x[i * d + c] * inv * (addOne ? 1 + w[c] : w[c]);
  }
  return y;
}

export function layerNormRef(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array,
  t: number,
  d: number,
  eps: number,
  out?: Float32Array,
): Float32Array {
  const y = dest(out, t * d);
  for (let i = 0; i < t; i++) {
    let mean = 0;
    for (let c = 0; c < d; c++) mean += x[i * d + c];
    mean /= d;
    let v = 0;
    for (let c = 0; c < d; c++) v += (x[i * d + c] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / d + eps);
    for (let c = 0; c < d; c++) y[i * d + c] = (x[i * d + c] - mean) * inv * w[c] + b[c];
  }
  return y;
}

/**
 * rotate_half RoPE (HF convention): for each head, pair dim i with dim i + headDim/2;
 * angle = pos * invFreq[i]; out_i = x_i cos - x_{i+h} sin, out_{i+h} = x_{i+h} cos + x_i sin.
 * The angle is computed in f32 as HF does (positions * inv_freq in float32), then cos/sin.
 */
export function ropeRef(
  x: Float32Array,
  pos: Int32Array,
  t: number,
  nHeads: number,
  headDim: number,
  invFreq: Float32Array,
  out?: Float32Array,
): Float32Array {
  const y = dest(out, x.length);
  const half = headDim / 2;
  for (let i = 0; i < t; i++) {
    for (let h = 0; h < nHeads; h++) {
      const o = (i * nHeads + h) * headDim;
      for (let c = 0; c < half; c++) {
        const ang = Math.fround(pos[i] * invFreq[c]);
        const cs = Math.cos(ang);
        const sn = Math.sin(ang);
        const a = x[o + c];
        const b = x[o + c + half];
        y[o + c] = a * cs - b * sn;
        y[o + c + half] = b * cs + a * sn;
      }
    }
  }
  return y;
}

/**
 * Causal GQA attention with padding mask; see AttentionArgs. Query rows that see no key output zeros; a row whose
 * visible scores are NaN (or all -Inf from non-finite q/k) outputs NaN, never zeros, so the NaN guard sees it.
 */
export function attentionRef(a: AttentionArgs): Float32Array {
  const { q, k, v, t, s, nHeads, nKvHeads, headDim, keyValid, scale } = a;
  const out = dest(a.out, t * nHeads * headDim).fill(0); // accumulated into; rows that see no key stay zero
  const group = nHeads / nKvHeads;
  const scores = new Float64Array(s);
  for (let i = 0; i < t; i++) {
    const last = s - t + i; // absolute slot of this query
    for (let h = 0; h < nHeads; h++) {
      const kh = Math.floor(h / group);
      const qo = (i * nHeads + h) * headDim;
      let max = -Infinity;
      let visible = false;
      for (let j = 0; j <= last; j++) {
        if (!keyValid[j]) {
          scores[j] = -Infinity;
          continue;
        }
        visible = true;
        let dot = 0;
        const ko = (j * nKvHeads + kh) * headDim;
        for (let c = 0; c < headDim; c++) dot += q[qo + c] * k[ko + c];
        scores[j] = dot * scale;
        // NaN is sticky (NaN > max is false): a NaN score must poison the row, not be skipped.
        if (scores[j] > max || scores[j] !== scores[j]) max = scores[j];
      }
      if (!visible) continue;
      if (max === -Infinity) max = NaN; // every visible score -Inf: exp(-Inf - -Inf) is NaN anyway; say so
      let sum = 0;
      for (let j = 0; j <= last; j++) {
        const e = keyValid[j] ? Math.exp(scores[j] - max) : 0;
        scores[j] = e;
        sum += e;
      }
      const oo = (i * nHeads + h) * headDim;
      for (let j = 0; j <= last; j++) {
        const p = scores[j] / sum;
        if (a.patternOut) a.patternOut[(h * t + i) * s + j] = p;
        if (p === 0) continue;
        const vo = (j * nKvHeads + kh) * headDim;
        for (let c = 0; c < headDim; c++) out[oo + c] += p * v[vo + c];
      }
    }
  }
  return out;
}

export const siluRef = (x: number): number => x / (1 + Math.exp(-x));

export function siluGateRef(gate: Float32Array, up: Float32Array, out?: Float32Array): Float32Array {
  const y = dest(out, gate.length);
  for (let i = 0; i < y.length; i++) y[i] = siluRef(gate[i]) * up[i];
  return y;
}

/** GPT-2 gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function geluRef(x: Float32Array, out?: Float32Array): Float32Array {
  const y = dest(out, x.length);
  const c = Math.sqrt(2 / Math.PI);
  for (let i = 0; i < y.length; i++) {
    const v = x[i];
    y[i] = 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v * v * v)));
  }
  return y;
}

export function addRef(a: Float32Array, b: Float32Array, out?: Float32Array): Float32Array {
  const y = dest(out, a.length);
  for (let i = 0; i < y.length; i++) y[i] = a[i] + b[i];
  return y;
}

export function embeddingRef(table: Float32Array, ids: Int32Array, d: number, out?: Float32Array): Float32Array {
  const y = dest(out, ids.length * d);
  for (let i = 0; i < ids.length; i++) y.set(table.subarray(ids[i] * d, ids[i] * d + d), i * d);
  return y;
}
