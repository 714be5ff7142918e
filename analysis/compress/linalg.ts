/**
 * Float64 dense linear algebra for the second-order compressors (GPTQ, SparseGPT): the calibration Hessian
 * and the upper Cholesky factor of its damped inverse, as reference GPTQ/SparseGPT compute them.
 */
import { CompressionError } from './errors.ts';

/** Running H = 2/n · Σ x xᵀ over calibration tokens (GPTQ's `add_batch` scaling), [k, k] float64. */
export class HessianAccumulator {
  readonly h: Float64Array;
  nTokens = 0;
  constructor(readonly k: number) {
    this.h = new Float64Array(k * k);
  }
  /** x is [t, k] row-major. */
  add(x: Float32Array, t: number): void {
    const k = this.k;
    if (x.length !== t * k) throw new CompressionError(`Hessian: activations have ${x.length} values, want ${t}x${k}`);
    if (t === 0) return;
    const h = this.h;
    const n0 = this.nTokens;
    const n1 = n0 + t;
    const keep = n0 / n1;
    for (let i = 0; i < h.length; i++) h[i] *= keep;
    const f = 2 / n1;
    // Each h[i][j] (j >= i) adds (x_ri·f)·x_rj over tokens r in order, skipping tokens whose x_ri·f is 0. Four tokens
    // at a time add to h[i][j] in the same order, so the bits are those of one at a time, with a quarter of the
    // passes over the triangle.
    let r = 0;
    for (; r + 4 <= t; r += 4) {
      const o0 = r * k;
      const o1 = o0 + k;
      const o2 = o1 + k;
      const o3 = o2 + k;
      for (let i = 0; i < k; i++) {
        const a0 = x[o0 + i] * f;
        const a1 = x[o1 + i] * f;
        const a2 = x[o2 + i] * f;
        const a3 = x[o3 + i] * f;
        const hi = i * k;
        if (a0 !== 0 && a1 !== 0 && a2 !== 0 && a3 !== 0)
          for (let j = i; j < k; j++) h[hi + j] = h[hi + j] + a0 * x[o0 + j] + a1 * x[o1 + j] + a2 * x[o2 + j] + a3 * x[o3 + j];
        else {
          addRow(h, hi, x, o0, a0, i, k);
          addRow(h, hi, x, o1, a1, i, k);
          addRow(h, hi, x, o2, a2, i, k);
          addRow(h, hi, x, o3, a3, i, k);
        }
      }
    }
    for (; r < t; r++) for (let i = 0; i < k; i++) addRow(h, i * k, x, r * k, x[r * k + i] * f, i, k);
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) h[j * k + i] = h[i * k + j];
    this.nTokens = n1;
  }
}

/** h[hi + j] += a·x[o + j] for j in [i, k), unless a is 0 (the token adds nothing to row i). */
function addRow(h: Float64Array, hi: number, x: Float32Array, o: number, a: number, i: number, k: number): void {
  if (a === 0) return;
  for (let j = i; j < k; j++) h[hi + j] += a * x[o + j];
}

/**
 * In-place lower Cholesky A = L Lᵀ (upper triangle zeroed); throws when A is not positive definite.
 * Each entry's sum runs over p in order, as written; rows below the diagonal go four at a time (four independent
 * chains sharing row j's loads), which changes no bit.
 */
export function choleskyLower(a: Float64Array, k: number, what = 'matrix'): Float64Array {
  for (let j = 0; j < k; j++) {
    const rj = j * k;
    let d = a[rj + j];
    for (let p = 0; p < j; p++) d -= a[rj + p] * a[rj + p];
    if (!(d > 0)) throw new CompressionError(`${what}: not positive definite at column ${j} (pivot ${d})`);
    const l = Math.sqrt(d);
    a[rj + j] = l;
    let i = j + 1;
    for (; i + 4 <= k; i += 4) {
      const r0 = i * k;
      const r1 = r0 + k;
      const r2 = r1 + k;
      const r3 = r2 + k;
      let s0 = a[r0 + j];
      let s1 = a[r1 + j];
      let s2 = a[r2 + j];
      let s3 = a[r3 + j];
      for (let p = 0; p < j; p++) {
        const ajp = a[rj + p];
        s0 -= a[r0 + p] * ajp;
        s1 -= a[r1 + p] * ajp;
        s2 -= a[r2 + p] * ajp;
        s3 -= a[r3 + p] * ajp;
      }
      a[r0 + j] = s0 / l;
      a[r1 + j] = s1 / l;
      a[r2 + j] = s2 / l;
      a[r3 + j] = s3 / l;
    }
    for (; i < k; i++) {
      let s = a[i * k + j];
      for (let p = 0; p < j; p++) s -= a[i * k + p] * a[rj + p];
      a[i * k + j] = s / l;
    }
    for (let i = 0; i < j; i++) a[i * k + j] = 0;
  }
  return a;
}

/**
 * A⁻¹ from its lower Cholesky factor L (torch.cholesky_inverse): A⁻¹ = L⁻ᵀ L⁻¹.
 * L⁻¹ is built transposed (t[c][p] = L⁻¹[p][c]), so that both sums below read rows: column reads with a stride of k
 * doubles missed the cache on every step at k in the thousands. Each sum still runs over p in order (the same bits).
 */
export function choleskyInverse(l: Float64Array, k: number): Float64Array {
  // Invert L (lower triangular) by forward substitution, column c of L⁻¹ into row c of t.
  const t = new Float64Array(k * k);
  for (let c = 0; c < k; c++) {
    const tc = c * k;
    t[tc + c] = 1 / l[c * k + c];
    for (let i = c + 1; i < k; i++) {
      const li = i * k;
      let s = 0;
      for (let p = c; p < i; p++) s += l[li + p] * t[tc + p];
      t[tc + i] = -s / l[li + i];
    }
  }
  // (L⁻ᵀ L⁻¹)[i][j] = Σ_{p ≥ i} L⁻¹[p][i] L⁻¹[p][j] = Σ_p t[i][p] t[j][p] (L⁻¹[p][j] = 0 for p < j <= i).
  const out = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    const ti = i * k;
    for (let j = 0; j <= i; j++) {
      const tj = j * k;
      let s = 0;
      for (let p = i; p < k; p++) s += t[ti + p] * t[tj + p];
      out[ti + j] = s;
      out[tj + i] = s;
    }
  }
  return out;
}

export interface PreparedHessian {
  /** Upper Cholesky factor U of (H + damp·I)⁻¹ = Uᵀ U, [k, k] row-major. */
  hinv: Float64Array;
  /** Columns whose calibration activations were all zero (their weights are zeroed, as in the reference). */
  dead: Uint8Array;
}

/**
 * GPTQ/SparseGPT preprocessing of a Hessian (copied, never mutated): dead diagonal -> 1, damping
 * `percdamp · mean(diag H)`, then the upper Cholesky factor of the inverse.
 */
export function prepareHessian(h: Float64Array, k: number, percdamp = 0.01, name = 'weight'): PreparedHessian {
  const a = Float64Array.from(h);
  const dead = new Uint8Array(k);
  for (let i = 0; i < k; i++)
    if (a[i * k + i] === 0) {
      dead[i] = 1;
      a[i * k + i] = 1;
    }
  let mean = 0;
  for (let i = 0; i < k; i++) mean += a[i * k + i];
  const damp = (percdamp * mean) / k;
  for (let i = 0; i < k; i++) a[i * k + i] += damp;
  const inv = choleskyInverse(choleskyLower(a, k, `${name} Hessian`), k);
  // Upper factor U of inv: inv = Uᵀ U, i.e. U = Lᵀ for the lower factor L of inv.
  const l = choleskyLower(inv, k, `${name} inverse Hessian`);
  const u = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = i; j < k; j++) u[i * k + j] = l[j * k + i];
  return { hinv: u, dead };
}

/**
 * Float64 working copies of W [n, k] and H [k, k] for GPTQ / SparseGPT: an input column no calibration token
 * reached (H_jj = 0) gets H_jj = 1 and a zero weight column, as the reference implementations do (it can
 * never contribute to the calibration output, and a zero diagonal would break the Cholesky factorization).
 */
export function workingCopies(w: Float32Array, h: Float64Array, n: number, k: number): { W: Float64Array; H: Float64Array } {
  const H = Float64Array.from(h);
  const W = Float64Array.from(w);
  for (let j = 0; j < k; j++)
    if (H[j * k + j] === 0) {
      H[j * k + j] = 1;
      for (let r = 0; r < n; r++) W[r * k + j] = 0;
    }
  return { W, H };
}

/**
 * The lazy-batch update GPTQ and SparseGPT share (Frantar et al.): once columns [i1, i2) of W [n, k] are final,
 * their scaled errors err [n, i2 - i1] reach every later column at once: W[:, i2:] -= err · Hinv[i1:i2, i2:].
 */
export function propagateBlockError(
  w: Float64Array,
  err: Float64Array,
  hinv: Float64Array,
  n: number,
  k: number,
  i1: number,
  i2: number,
): void {
  const cnt = i2 - i1;
  for (let r = 0; r < n; r++) {
    const ro = r * k;
    for (let c = 0; c < cnt; c++) {
      const e = err[r * cnt + c];
      if (e === 0) continue;
      const ho = (i1 + c) * k;
      for (let j = i2; j < k; j++) w[ro + j] -= e * hinv[ho + j];
    }
  }
}

/** Returns a copy of the square matrix with rows and columns gathered by perm. */
export function permuteSym(a: Float64Array, k: number, perm: ArrayLike<number>): Float64Array {
  const out = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) out[i * k + j] = a[perm[i] * k + perm[j]];
  return out;
}
