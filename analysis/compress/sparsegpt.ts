/**
 * SparseGPT (Frantar & Alistarh 2023) following `locuslab/wanda: lib/sparsegpt.py: fasterprune`: blocks of
 * 128 columns; the unstructured mask of a block is its lowest w²/[H⁻¹]_ii² across the whole block, the N:M
 * mask the N lowest of each M consecutive columns per row; each zeroed weight's error is spread over the
 * later columns (OBS update) with the upper Cholesky factor of the damped inverse Hessian.
 */
import { checkMatrix, CompressionError } from './errors.ts';
import { prepareHessian, propagateBlockError, workingCopies } from './linalg.ts';

export interface SparseGptOptions {
  /** Unstructured sparsity in [0, 1); ignored when nm is set. */
  sparsity?: number;
  /** N:M pattern: zero n of every m consecutive input columns. */
  nm?: { n: number; m: number } | null;
  blockSize?: number; // default 128
  percdamp?: number; // default 0.01
}

/** Returns the pruned, error-compensated W [n, k] (zeros where pruned). */
export function sparseGptPrune(
  w: Float32Array,
  n: number,
  k: number,
  h: Float64Array,
  opts: SparseGptOptions,
  name = 'weight',
): Float32Array {
  checkMatrix(name, w, n, k);
  if (h.length !== k * k) throw new CompressionError(`${name}: Hessian has ${h.length} values, want ${k}x${k}`);
  const nm = opts.nm ?? null;
  const sparsity = opts.sparsity ?? 0;
  if (!nm && !(sparsity >= 0 && sparsity < 1)) throw new CompressionError(`${name}: sparsity ${sparsity} must be in [0, 1)`);
  if (nm && !(nm.n > 0 && nm.n < nm.m && Number.isInteger(nm.n) && Number.isInteger(nm.m)))
    throw new CompressionError(`${name}: N:M pattern ${nm.n}:${nm.m} must have 0 < N < M`);
  const blockSize = opts.blockSize ?? 128;
  const { W, H } = workingCopies(w, h, n, k);
  const { hinv } = prepareHessian(H, k, opts.percdamp ?? 0.01, name);
  const mask = new Uint8Array(n * k);
  for (let i1 = 0; i1 < k; i1 += blockSize) {
    const i2 = Math.min(i1 + blockSize, k);
    const cnt = i2 - i1;
    const score = (r: number, j: number) => {
      const d = hinv[j * k + j];
      return (W[r * k + j] * W[r * k + j]) / (d * d);
    };
    if (!nm) {
      // Reference: thresh = sort(tmp.flatten())[int(numel * sparsity)]; mask = tmp <= thresh.
      const all = new Float64Array(n * cnt);
      for (let r = 0; r < n; r++) for (let c = 0; c < cnt; c++) all[r * cnt + c] = score(r, i1 + c);
      const sorted = Float64Array.from(all).sort();
      const idx = Math.floor(all.length * sparsity);
      if (sparsity > 0) {
        const thresh = sorted[Math.min(idx, sorted.length - 1)];
        // Ties at the threshold would over-prune; take exactly `idx` lowest like a stable sort would.
        let budget = idx;
        for (let r = 0; r < n && budget > 0; r++)
          for (let c = 0; c < cnt && budget > 0; c++)
            if (all[r * cnt + c] < thresh) {
              mask[r * k + i1 + c] = 1;
              budget--;
            }
        for (let r = 0; r < n && budget > 0; r++)
          for (let c = 0; c < cnt && budget > 0; c++)
            if (all[r * cnt + c] === thresh) {
              mask[r * k + i1 + c] = 1;
              budget--;
            }
      }
    }
    const err = new Float64Array(n * cnt);
    for (let i = i1; i < i2; i++) {
      if (nm && (i - i1) % nm.m === 0) {
        const end = Math.min(i + nm.m, i2);
        for (let r = 0; r < n; r++) {
          const cols = [];
          for (let j = i; j < end; j++) cols.push(j);
          cols.sort((a, b) => score(r, a) - score(r, b) || a - b);
          for (let t = 0; t < Math.min(nm.n, cols.length); t++) mask[r * k + cols[t]] = 1;
        }
      }
      const d = hinv[i * k + i];
      for (let r = 0; r < n; r++) {
        const ro = r * k;
        if (!mask[ro + i]) continue;
        const e = W[ro + i] / d;
        W[ro + i] = 0;
        err[r * cnt + (i - i1)] = e;
        for (let j = i + 1; j < i2; j++) W[ro + j] -= e * hinv[i * k + j];
      }
    }
    propagateBlockError(W, err, hinv, n, k, i1, i2);
  }
  const out = new Float32Array(n * k);
  for (let i = 0; i < out.length; i++) out[i] = mask[i] ? 0 : W[i];
  return out;
}
