/**
 * AWQ-style 4-bit (Lin et al. 2024, `llm-awq: auto_scale.py`): per-input-channel scales
 * s_j = mean|x_j|^α, normalized by sqrt(max(s)·min(s)), with α searched on the grid {0, 1/20, ..., 19/20}
 * to minimize the MSE of the outputs of all matrices that share this input; W·diag(s) is then rounded to the
 * group-wise asymmetric int4 grid. The caller folds 1/s into whatever produces the input (the previous norm's
 * weight or the previous linear's output rows), so the model computes Q(W·diag(s)) · (x/s) ≈ W x.
 */
import type { Int4Weight } from '../../kernels/types.ts';
import { dequantize } from '../../kernels/formats.ts';
import { checkMatrix, CompressionError } from './errors.ts';
import { quantizeInt4Group } from './rtn.ts';

export interface AwqSearchResult {
  scales: Float32Array;
  alpha: number;
  loss: number;
  /** Output MSE of plain RTN (α = 0), for the report. */
  rtnLoss: number;
}

export function awqScaledWeight(w: Float32Array, n: number, k: number, s: Float32Array): Float32Array {
  const out = new Float32Array(n * k);
  for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) out[r * k + j] = w[r * k + j] * s[j];
  return out;
}

function scalesFor(meanAbs: Float32Array, alpha: number): Float32Array {
  const s = new Float32Array(meanAbs.length);
  let mx = 0;
  let mn = Infinity;
  for (let j = 0; j < s.length; j++) {
    s[j] = Math.max(1e-4, Math.pow(meanAbs[j], alpha));
    mx = Math.max(mx, s[j]);
    mn = Math.min(mn, s[j]);
  }
  const norm = Math.sqrt(mx * mn);
  for (let j = 0; j < s.length; j++) s[j] /= norm;
  return s;
}

/**
 * Searches the scales for matrices `ws` (each [n_i, k]) that read the same calibration input x [t, k].
 * `meanAbs[j]` = mean |x_j| over all calibration tokens (x may be a subsample of them).
 */
export function awqSearchScales(
  ws: { w: Float32Array; n: number }[], k: number, x: Float32Array, t: number, meanAbs: Float32Array,
  groupSize = 128, nGrid = 20, name = 'weight',
): AwqSearchResult {
  if (x.length !== t * k) throw new CompressionError(`${name}: AWQ calibration input has ${x.length} values, want ${t}x${k}`);
  if (meanAbs.length !== k) throw new CompressionError(`${name}: AWQ meanAbs has ${meanAbs.length} values, want ${k}`);
  for (const m of ws) checkMatrix(name, m.w, m.n, k);
  let best: AwqSearchResult | null = null;
  let rtnLoss = NaN;
  for (let gi = 0; gi < nGrid; gi++) {
    const alpha = gi / nGrid;
    const s = scalesFor(meanAbs, alpha);
    let loss = 0;
    let count = 0;
    for (const m of ws) {
      const q = dequantize(quantizeInt4Group(awqScaledWeight(m.w, m.n, k, s), m.n, k, groupSize, name));
      // Effective weight Q(W·s)/s against the original: output error on the calibration rows.
      for (let r = 0; r < m.n; r++) {
        const dw = new Float64Array(k);
        for (let j = 0; j < k; j++) dw[j] = q[r * k + j] / s[j] - m.w[r * k + j];
        for (let tt = 0; tt < t; tt++) {
          let e = 0;
          for (let j = 0; j < k; j++) e += dw[j] * x[tt * k + j];
          loss += e * e;
        }
      }
      count += m.n * t;
    }
    loss /= Math.max(1, count);
    if (gi === 0) rtnLoss = loss;
    if (!best || loss < best.loss) best = { scales: s, alpha, loss, rtnLoss };
  }
  best!.rtnLoss = rtnLoss;
  return best!;
}

/** Int4 of W·diag(s): the stored weight; the input must be divided by s before it. */
export function awqQuantize(w: Float32Array, n: number, k: number, s: Float32Array, groupSize = 128, name = 'weight'): Int4Weight {
  checkMatrix(name, w, n, k);
  if (s.length !== k) throw new CompressionError(`${name}: AWQ scales have ${s.length} values, want ${k}`);
  return quantizeInt4Group(awqScaledWeight(w, n, k, s), n, k, groupSize, name);
}
