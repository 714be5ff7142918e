/**
 * AWQ's weight clipping search (Lin et al. 2024, llm-awq `auto_clip_layer`), run after the scale search on the
 * weights as they will be stored (W·diag(s)) and the inputs as they will arrive (x/s). For each output row and each
 * quantization group, the group's max |w| is shrunk by ratios 1, 1 − 1/20, ..., down to (but excluding) 1 − 0.5
 * (llm-awq's grid: n_grid 20, max_shrink 0.5), the group is clamped to [−m, m] and rounded on the int4 grid, and the
 * ratio with the smallest error of the group's share of the output on the calibration tokens, Σ_t (Σ_{j∈g} d_j x_tj)²
 * with d = Q(clip(w)) − w, is kept. Ratio 1 (no clipping) is on the grid and wins ties, so no group's error grows.
 *
 * The groups' errors add up inside one output, so per-group choices can raise a row's total error through
 * cross-group terms (on tiny-chat they do in ~15% of rows); llm-awq accepts that. Glassbox adds a guard per row:
 * starting from no clipping, each group's chosen clip is kept only if it lowers the row's total output error on the
 * calibration tokens given the groups kept before it (greedy, in column order); the row then takes llm-awq's
 * all-groups choice instead if that is at least as good. A row's error, and so the layer's, never exceeds plain
 * rounding's; `groupsReset` counts the clips the guard set back to none.
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
  /** (row, group) clips the guard set back to none because they raised the row's total error. */
  groupsReset: number;
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

/** Per group and token, Σ_{j∈group} (q_j − w_j) x_tj of one row: [nGroups][t]; the row's error is Σ_t (Σ_groups ·)². */
function groupOutputErrors(q: Float32Array, w: Float32Array, r: number, k: number, g: number, x: Float32Array, t: number): Float64Array[] {
  const out: Float64Array[] = [];
  for (let c0 = 0; c0 < k; c0 += g) {
    const c1 = Math.min(k, c0 + g);
    const e = new Float64Array(t);
    for (let tt = 0; tt < t; tt++) {
      let s = 0;
      for (let j = c0; j < c1; j++) s += (q[r * k + j] - w[r * k + j]) * x[tt * k + j];
      e[tt] = s;
    }
    out.push(e);
  }
  return out;
}

const sumSq = (v: Float64Array): number => v.reduce((a, y) => a + y * y, 0);

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
  let groupsReset = 0;
  const total = (vs: Float64Array[]) => vs.reduce((a, v) => a.map((y, i) => y + v[i]), new Float64Array(t));
  for (let r = 0; r < n; r++) {
    // Groups round independently, so the row's rounded weight under any mix of choices is a mix of `plain` and `q`.
    const P = groupOutputErrors(plain!, w, r, k, g, x, t);
    let cur = total(P);
    const e0 = sumSq(cur);
    lossNoClip += e0;
    if (!choice.subarray(r * ng, (r + 1) * ng).some((c) => c < 1)) {
      loss += e0;
      continue;
    }
    const C = groupOutputErrors(q, w, r, k, g, x, t);
    const all = sumSq(total(C));
    // Greedy from no clipping: keep a group's clip only if it lowers the row's error given the groups before it.
    let curErr = e0;
    const keep: boolean[] = [];
    for (let gi = 0; gi < ng; gi++) {
      keep.push(false);
      if (choice[r * ng + gi] >= 1) continue;
      const cand = cur.map((y, i) => y - P[gi][i] + C[gi][i]);
      const e = sumSq(cand);
      if (e < curErr) [cur, curErr, keep[gi]] = [cand, e, true];
    }
    if (all <= curErr) {
      loss += all; // llm-awq's choice for the row is at least as good, so no worse than no clipping either
      continue;
    }
    for (let gi = 0; gi < ng; gi++) {
      if (choice[r * ng + gi] >= 1 || keep[gi]) continue;
      groupsReset++;
      choice[r * ng + gi] = 1;
      const c0 = r * k + gi * g;
      clipped.set(w.subarray(c0, Math.min((r + 1) * k, c0 + g)), c0);
    }
    loss += curErr;
  }
  let nClipped = 0;
  for (const c of choice) if (c < 1) nClipped++;
  return {
    w: clipped,
    ratios: choice,
    lossNoClip: lossNoClip / (n * t),
    loss: loss / (n * t),
    clippedFraction: nClipped / (n * ng),
    groupsReset,
  };
}
