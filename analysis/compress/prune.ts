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
 * Unstructured: per row, zero the floor(sparsity·k) lowest scores (stable sort). N:M: per row, zero the n
 * lowest of every m consecutive columns.
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
  const colNorm = Array.from(colNormSq, (v) => Math.sqrt(v));
  const out = Float32Array.from(w);
  const score = (r: number, j: number) => Math.abs(w[r * k + j]) * colNorm[j];
  for (let r = 0; r < n; r++) {
    if (spec.kind === 'unstructured') {
      const cut = Math.floor(spec.sparsity * k);
      const order = Array.from({ length: k }, (_, j) => j).sort((a, b) => score(r, a) - score(r, b) || a - b);
      for (let i = 0; i < cut; i++) out[r * k + order[i]] = 0;
    } else {
      for (let j0 = 0; j0 < k; j0 += spec.m) {
        const cols = [];
        for (let j = j0; j < Math.min(k, j0 + spec.m); j++) cols.push(j);
        cols.sort((a, b) => score(r, a) - score(r, b) || a - b);
        for (let i = 0; i < Math.min(spec.n, cols.length); i++) out[r * k + cols[i]] = 0;
      }
    }
  }
  return out;
}
