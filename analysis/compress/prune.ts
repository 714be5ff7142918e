/**
 * Score-based pruning as in `locuslab/wanda: lib/prune.py`: magnitude (|W|, one threshold per matrix) and
 * Wanda (|W_ij|·‖X_j‖₂, compared within each output row, unstructured or N:M).
 */
import { checkMatrix, CompressionError } from './errors.ts';

export type PruneSpec = { kind: 'unstructured'; sparsity: number } | { kind: 'nm'; n: number; m: number };

function checkSpec(spec: PruneSpec, name: string): void {
  if (spec.kind === 'unstructured' && !(spec.sparsity >= 0 && spec.sparsity < 1))
    throw new CompressionError(`${name}: sparsity ${spec.sparsity} must be in [0, 1)`);
  if (spec.kind === 'nm' && !(Number.isInteger(spec.n) && Number.isInteger(spec.m) && spec.n > 0 && spec.n < spec.m))
    throw new CompressionError(`${name}: N:M pattern ${spec.n}:${spec.m} must have 0 < N < M`);
}

/** Zeroes the floor(sparsity·n·k) smallest |W| of the whole matrix (reference prune_magnitude). */
export function magnitudePrune(w: Float32Array, n: number, k: number, sparsity: number, name = 'weight'): Float32Array {
  checkMatrix(name, w, n, k);
  checkSpec({ kind: 'unstructured', sparsity }, name);
  const order = Array.from({ length: w.length }, (_, i) => i).sort((a, b) => Math.abs(w[a]) - Math.abs(w[b]) || a - b);
  const out = Float32Array.from(w);
  const cut = Math.floor(sparsity * w.length);
  for (let i = 0; i < cut; i++) out[order[i]] = 0;
  return out;
}

/**
 * Wanda: `colNormSq[j]` = Σ x_j² over calibration tokens (any positive multiple gives the same mask).
 * Unstructured: per row, zero the floor(sparsity·k) lowest scores. N:M: per row, zero the n lowest of every m
 * consecutive columns. Ties go to the lower column, as a stable ascending sort of the scores would order them.
 */
export function wandaPrune(
  w: Float32Array,
  n: number,
  k: number,
  colNormSq: Float32Array | Float64Array,
  spec: PruneSpec,
  name = 'weight',
): Float32Array {
  checkMatrix(name, w, n, k);
  checkSpec(spec, name);
  if (colNormSq.length !== k) throw new CompressionError(`${name}: activation norms have ${colNormSq.length} values, want ${k}`);
  const colNorm = Float64Array.from(colNormSq, (v) => Math.sqrt(v));
  const out = Float32Array.from(w);
  const score = new Float64Array(k);
  const scratch = new Float64Array(k);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < k; j++) {
      score[j] = Math.abs(w[r * k + j]) * colNorm[j];
      if (Number.isNaN(score[j]))
        throw new CompressionError(`${name}: Wanda score of row ${r}, column ${j} is NaN (weight ${w[r * k + j]}, Σx² ${colNormSq[j]})`);
    }
    if (spec.kind === 'unstructured') zeroLowest(score, scratch, 0, k, Math.floor(spec.sparsity * k), out, r * k);
    else for (let j0 = 0; j0 < k; j0 += spec.m) zeroLowest(score, scratch, j0, Math.min(k, j0 + spec.m), spec.n, out, r * k);
  }
  return out;
}

/**
 * Zeroes out[base + j] for the `cut` lowest score[j], j in [lo, hi), ties to the lower j: the set a stable sort would
 * put first, found from the cut-th smallest value by quickselect on a copy (linear time, where sorting the indices with
 * a comparator closure made k log k calls per row).
 */
function zeroLowest(
  score: Float64Array,
  scratch: Float64Array,
  lo: number,
  hi: number,
  cut: number,
  out: Float32Array,
  base: number,
): void {
  cut = Math.min(cut, hi - lo);
  if (cut <= 0) return;
  const part = scratch.subarray(0, hi - lo);
  part.set(score.subarray(lo, hi));
  const thr = kthSmallest(part, cut - 1);
  let ties = cut;
  for (let j = lo; j < hi; j++) if (score[j] < thr) ties--;
  for (let j = lo; j < hi; j++) {
    const s = score[j];
    if (s < thr || (s === thr && ties-- > 0)) out[base + j] = 0;
  }
}

/** The value a[i] would hold were `a` sorted ascending (no NaN); reorders `a` (Hoare quickselect, median of three). */
export function kthSmallest(a: Float64Array, i: number): number {
  let l = 0;
  let r = a.length - 1;
  while (r > l) {
    const m = (l + r) >>> 1;
    // median of a[l], a[m], a[r] as the pivot
    if (a[m] < a[l]) swap(a, m, l);
    if (a[r] < a[l]) swap(a, r, l);
    if (a[r] < a[m]) swap(a, r, m);
    const pivot = a[m];
    let x = l;
    let y = r;
    while (x <= y) {
      while (a[x] < pivot) x++;
      while (a[y] > pivot) y--;
      if (x <= y) swap(a, x++, y--);
    }
    // [l, y] <= pivot <= [x, r], and everything strictly between y and x equals the pivot
    if (i <= y) r = y;
    else if (i >= x) l = x;
    else return pivot;
  }
  return a[i];
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}
