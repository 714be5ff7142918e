/**
 * AWQ's weight clipping search (Lin et al. 2024, llm-awq `auto_clip_layer`), run after the scale search on the
 * weights as they will be stored (W·diag(s)) and the inputs as they will arrive (x/s). For each output row and each
 * quantization group, the group's max |w| is shrunk by ratios 1, 1 − 1/20, ..., down to (but excluding) 1 − 0.5
 * (llm-awq's grid: n_grid 20, max_shrink 0.5), the group is clamped to [−m, m] and rounded on the int4 grid, and the
 * ratio with the smallest error of the group's share of the output on the calibration tokens, Σ_t (Σ_{j∈g} d_j x_tj)²
 * with d = Q(clip(w)) − w, is kept. Ratio 1 (no clipping) is on the grid and wins ties, so no group's error grows.
 *
 * The groups' errors add up inside one output, so per-group choices could in principle raise a row's total error
 * through cross-group terms; llm-awq accepts that. Glassbox adds a guard: a row whose total output error on the
 * calibration tokens would be larger with its chosen clips than without keeps no clipping at all, so the layer's
 * output error never exceeds plain rounding's (`rowsReverted` counts them).
 *
 * Rounding goes through the stored int4 quantizer (models/weight-formats quantizeInt4 + dequantize), so the searched
 * errors are those of the weights the model will hold, bit for bit.
 */
import { dequantize } from '../../models/weight-formats.ts';
import { checkMatrix, CompressionError } from './errors.ts';
import { quantizeInt4Group } from './rtn.ts';

export interface AwqClipOptions {
  /** Ratios are 1 − i/nGrid for i < maxShrink·nGrid (default 20). */
  nGrid?: number;
  /** Largest shrink (exclusive; default 0.5). */
  maxShrink?: number;
}

export interface AwqClipResult {
  /** The clipped weight [n, k] (what to quantize and store). */
  w: Float32Array;
  /** Chosen ratio per (row, group), [n, nGroups]; 1 = not clipped. */
  ratios: Float64Array;
  /** Mean squared output error per (row, token) of the rounded weight, without and with clipping. */
  lossNoClip: number;
  loss: number;
  /** Fraction of (row, group) pairs clipped (ratio < 1) after the guard. */
  clippedFraction: number;
  /** Rows whose per-group choices raised the row's error and were reset to no clipping. */
  rowsReverted: number;
}

/** The ratio grid: 1, 1 − 1/nGrid, ... (llm-awq: int(max_shrink · n_grid) steps). */
export function clipRatios(o: AwqClipOptions = {}): number[] {
  const nGrid = o.nGrid ?? 20;
  const maxShrink = o.maxShrink ?? 0.5;
  if (!(Number.isInteger(nGrid) && nGrid > 0)) throw new CompressionError(`awq clip: nGrid ${nGrid} must be a positive integer`);
  if (!(maxShrink > 0 && maxShrink < 1)) throw new CompressionError(`awq clip: maxShrink ${maxShrink} must lie in (0, 1)`);
  const steps = Math.max(1, Math.floor(maxShrink * nGrid));
  return Array.from({ length: steps }, (_, i) => 1 - i / nGrid);
}

/** Clamps every (row, group) of w to ±(its max |w|)·ratio(row, group). */
export function clipGroups(w: Float32Array, n: number, k: number, g: number, ratioOf: (r: number, gi: number) => number): Float32Array {
  const out = Float32Array.from(w);
  const ng = Math.ceil(k / g);
  for (let r = 0; r < n; r++)
    for (let gi = 0; gi < ng; gi++) {
      const ratio = ratioOf(r, gi);
      if (ratio >= 1) continue;
      const c0 = r * k + gi * g;
      const c1 = r * k + Math.min(k, (gi + 1) * g);
      let amax = 0;
      for (let i = c0; i < c1; i++) amax = Math.max(amax, Math.abs(w[i]));
      const m = amax * ratio;
      for (let i = c0; i < c1; i++) out[i] = w[i] > m ? m : w[i] < -m ? -m : w[i];
    }
  return out;
}

/** Per-group Gram matrices of the calibration input: G_g = X_gᵀ X_g (float64, m_g × m_g each). */
function groupGrams(x: Float32Array, t: number, k: number, g: number): Float64Array[] {
  const grams: Float64Array[] = [];
  for (let c0 = 0; c0 < k; c0 += g) {
    const m = Math.min(g, k - c0);
    const G = new Float64Array(m * m);
    for (let tt = 0; tt < t; tt++) {
      const row = tt * k + c0;
      for (let a = 0; a < m; a++) {
        const xa = x[row + a];
        if (xa === 0) continue;
        for (let b = a; b < m; b++) G[a * m + b] += xa * x[row + b];
      }
    }
    for (let a = 0; a < m; a++) for (let b = 0; b < a; b++) G[a * m + b] = G[b * m + a];
    grams.push(G);
  }
  return grams;
}

/** dᵀ G d for d = q − w on columns [c0, c0 + m) of one row (offset o into q and w). */
function groupError(q: Float32Array, w: Float32Array, o: number, m: number, G: Float64Array, d: Float64Array): number {
  for (let a = 0; a < m; a++) d[a] = q[o + a] - w[o + a];
  let e = 0;
  for (let a = 0; a < m; a++) {
    let s = 0;
    for (let b = 0; b < m; b++) s += G[a * m + b] * d[b];
    e += d[a] * s;
  }
  return e;
}

/** Σ_t (Σ_j (q_j − w_j) x_tj)² of one row against the calibration tokens. */
export function rowOutputError(q: Float32Array, w: Float32Array, r: number, k: number, x: Float32Array, t: number): number {
  const d = new Float64Array(k);
  for (let j = 0; j < k; j++) d[j] = q[r * k + j] - w[r * k + j];
  let e = 0;
  for (let tt = 0; tt < t; tt++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += d[j] * x[tt * k + j];
    e += s * s;
  }
  return e;
}

/**
 * Searches the clip ratios of w [n, k] (int4, asymmetric, `groupSize` columns per group) against calibration
 * inputs x [t, k] as the matrix will see them.
 */
export function awqClipSearch(
  w: Float32Array,
  n: number,
  k: number,
  x: Float32Array,
  t: number,
  groupSize: number,
  o: AwqClipOptions = {},
  name = 'weight',
): AwqClipResult {
  checkMatrix(name, w, n, k);
  if (!(t > 0 && x.length === t * k)) throw new CompressionError(`${name}: AWQ clip input has ${x.length} values, want ${t}x${k} (t > 0)`);
  const g = Math.min(groupSize, k);
  const ng = Math.ceil(k / g);
  const ratios = clipRatios(o);
  const grams = groupGrams(x, t, k, g);
  const best = new Float64Array(n * ng).fill(Infinity);
  const choice = new Float64Array(n * ng).fill(1);
  const d = new Float64Array(g);
  let plain: Float32Array | null = null;
  for (const ratio of ratios) {
    const q = dequantize(
      quantizeInt4Group(
        clipGroups(w, n, k, g, () => ratio),
        n,
        k,
        g,
        name,
      ),
    );
    if (ratio === 1) plain = q;
    for (let r = 0; r < n; r++)
      for (let gi = 0; gi < ng; gi++) {
        const m = Math.min(g, k - gi * g);
        const e = groupError(q, w, r * k + gi * g, m, grams[gi], d);
        if (e < best[r * ng + gi]) {
          best[r * ng + gi] = e;
          choice[r * ng + gi] = ratio;
        }
      }
  }
  const clipped = clipGroups(w, n, k, g, (r, gi) => choice[r * ng + gi]);
  const q = dequantize(quantizeInt4Group(clipped, n, k, g, name));
  let lossNoClip = 0;
  let loss = 0;
  let rowsReverted = 0;
  for (let r = 0; r < n; r++) {
    const e0 = rowOutputError(plain!, w, r, k, x, t);
    let e1 = e0;
    let clippedRow = false;
    for (let gi = 0; gi < ng; gi++) clippedRow ||= choice[r * ng + gi] < 1;
    if (clippedRow) e1 = rowOutputError(q, w, r, k, x, t);
    if (e1 > e0) {
      // The guard: this row keeps plain rounding.
      rowsReverted++;
      choice.fill(1, r * ng, (r + 1) * ng);
      clipped.set(w.subarray(r * k, (r + 1) * k), r * k);
      e1 = e0;
    }
    lossNoClip += e0;
    loss += e1;
  }
  let nClipped = 0;
  for (const c of choice) if (c < 1) nClipped++;
  return {
    w: clipped,
    ratios: choice,
    lossNoClip: lossNoClip / (n * t),
    loss: loss / (n * t),
    clippedFraction: nClipped / (n * ng),
    rowsReverted,
  };
}
