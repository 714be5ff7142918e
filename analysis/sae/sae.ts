/**
 * Sparse autoencoder inference, SAELens semantics, on rows of activations (no I/O: the loader is load.ts).
 *
 *   makeSae(cfg, tensors, file): Sae — checks shapes/finiteness (W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in],
 *     b_dec [d_in], threshold [d_sae] for jumprelu); SafetensorsError naming the file and the tensor otherwise.
 *   encode(sae, x, rows): { acts [rows, d_sae], state } — normalise, subtract b_dec (apply_b_dec_to_input),
 *     pre = x·W_enc + b_enc, then relu / topk (the k largest pre-activations, relu'd; ties to the lower index) /
 *     jumprelu (relu(pre) where pre > threshold, else 0).
 *   decode(sae, acts, rows, state): x̂ [rows, d_in] = acts·W_dec + b_dec, un-normalised.
 * Sums run in float64; results are rounded to f32 once.
 */
import { SafetensorsError } from '../../engine/errors.ts';
import type { SaeConfig } from './config.ts';

export interface SaeTensor {
  shape: number[];
  data: Float32Array;
}

export interface Sae {
  cfg: SaeConfig;
  wEnc: Float32Array;
  bEnc: Float32Array;
  wDec: Float32Array;
  bDec: Float32Array;
  threshold: Float32Array | null;
}

/** Per-row normalisation undone by decode (constant_norm_rescale: the coefficient; layer_norm: mean and std). */
export interface NormState {
  coeff: Float64Array | null;
  mu: Float64Array | null;
  std: Float64Array | null;
}

export function makeSae(cfg: SaeConfig, tensors: Map<string, SaeTensor>, file: string): Sae {
  const get = (name: string, shape: number[]): Float32Array => {
    const t = tensors.get(name);
    if (!t) throw new SafetensorsError(`${file}: missing tensor ${name}`);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]))
      throw new SafetensorsError(`${file}: tensor ${name} has shape [${t.shape}], cfg.json implies [${shape}]`);
    for (let i = 0; i < t.data.length; i++)
      if (!Number.isFinite(t.data[i])) throw new SafetensorsError(`${file}: tensor ${name} holds ${t.data[i]} at flat index ${i}`);
    return t.data;
  };
  const { dIn, dSae } = cfg;
  return {
    cfg,
    wEnc: get('W_enc', [dIn, dSae]),
    bEnc: get('b_enc', [dSae]),
    wDec: get('W_dec', [dSae, dIn]),
    bDec: get('b_dec', [dIn]),
    threshold: cfg.activation.kind === 'jumprelu' ? get('threshold', [dSae]) : null,
  };
}

function normalizeRows(sae: Sae, x: Float32Array, rows: number): { xs: Float64Array; state: NormState } {
  const d = sae.cfg.dIn;
  const xs = Float64Array.from(x);
  const state: NormState = { coeff: null, mu: null, std: null };
  if (sae.cfg.normalization === 'constant_norm_rescale') {
    state.coeff = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let ss = 0;
      for (let i = 0; i < d; i++) ss += xs[r * d + i] ** 2;
      const c = Math.sqrt(d) / Math.sqrt(ss);
      state.coeff[r] = c;
      for (let i = 0; i < d; i++) xs[r * d + i] *= c;
    }
  } else if (sae.cfg.normalization === 'layer_norm') {
    state.mu = new Float64Array(rows);
    state.std = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let m = 0;
      for (let i = 0; i < d; i++) m += xs[r * d + i];
      m /= d;
      let ss = 0;
      for (let i = 0; i < d; i++) ss += (xs[r * d + i] - m) ** 2;
      // torch.std: the unbiased estimate; SAELens divides by (std + 1e-5).
      const std = Math.sqrt(ss / (d - 1));
      state.mu[r] = m;
      state.std[r] = std;
      for (let i = 0; i < d; i++) xs[r * d + i] = (xs[r * d + i] - m) / (std + 1e-5);
    }
  }
  return { xs, state };
}

export function encode(sae: Sae, x: Float32Array, rows: number): { acts: Float32Array; state: NormState } {
  const { dIn: d, dSae: n, activation } = sae.cfg;
  const { xs, state } = normalizeRows(sae, x, rows);
  if (sae.cfg.applyBDecToInput) for (let r = 0; r < rows; r++) for (let i = 0; i < d; i++) xs[r * d + i] -= sae.bDec[i];
  const acts = new Float32Array(rows * n);
  const pre = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) pre[j] = sae.bEnc[j];
    for (let i = 0; i < d; i++) {
      const xi = xs[r * d + i];
      if (xi === 0) continue;
      const w = i * n;
      for (let j = 0; j < n; j++) pre[j] += xi * sae.wEnc[w + j];
    }
    const out = acts.subarray(r * n, (r + 1) * n);
    if (activation.kind === 'relu') for (let j = 0; j < n; j++) out[j] = pre[j] > 0 ? pre[j] : 0;
    else if (activation.kind === 'jumprelu') for (let j = 0; j < n; j++) out[j] = pre[j] > sae.threshold![j] && pre[j] > 0 ? pre[j] : 0;
    else for (const j of topIndices(pre, activation.k)) out[j] = pre[j] > 0 ? pre[j] : 0;
  }
  return { acts, state };
}

export function decode(sae: Sae, acts: Float32Array, rows: number, state: NormState): Float32Array {
  const { dIn: d, dSae: n } = sae.cfg;
  const out = new Float32Array(rows * d);
  const acc = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < d; i++) acc[i] = sae.bDec[i];
    for (let j = 0; j < n; j++) {
      const a = acts[r * n + j];
      if (a === 0) continue;
      for (let i = 0; i < d; i++) acc[i] += a * sae.wDec[j * d + i];
    }
    for (let i = 0; i < d; i++) {
      let v = acc[i];
      if (state.coeff) v /= state.coeff[r];
      if (state.mu) v = v * state.std![r] + state.mu[r];
      out[r * d + i] = v;
    }
  }
  return out;
}

/** Indices of the k largest values (ties: lower index first). */
export function topIndices(v: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: v.length }, (_, i) => i);
  idx.sort((a, b) => v[b] - v[a] || a - b);
  return idx.slice(0, k);
}
