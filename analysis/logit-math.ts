/**
 * Float64 statistics over one position's logits: log-softmax, refusal log-odds, KL. Arditi et al. compute
 * these in float64 so that P_ref near 0 or 1 keeps its precision; we widen the f32 logits the same way.
 */

/** log-softmax of logits[offset .. offset + vocab) in float64. */
export function logSoftmax(logits: ArrayLike<number>, offset = 0, vocab = logits.length - offset): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[offset + i] > max) max = logits[offset + i];
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(vocab);
  for (let i = 0; i < vocab; i++) out[i] = logits[offset + i] - lse;
  return out;
}

/** log(P_ref + 1e-8) - log(1 - P_ref + 1e-8), with P_ref the total probability of the refusal tokens. */
export function refusalScore(logits: ArrayLike<number>, refusalIds: readonly number[], offset = 0, vocab = logits.length - offset): number {
  const lp = logSoftmax(logits, offset, vocab);
  let p = 0;
  for (const id of new Set(refusalIds)) p += Math.exp(lp[id]);
  return Math.log(p + 1e-8) - Math.log(1 - p + 1e-8);
}

/** KL(P || Q) = sum p (log(p + eps) - log(q + eps)) from two log-softmax rows; eps 1e-6 as in Arditi. */
export function klFromLogProbs(lpP: Float64Array, lpQ: Float64Array, eps = 1e-6): number {
  let kl = 0;
  for (let i = 0; i < lpP.length; i++) {
    const p = Math.exp(lpP[i]);
    kl += p * (Math.log(p + eps) - Math.log(Math.exp(lpQ[i]) + eps));
  }
  return kl;
}

/** KL(softmax(base) || softmax(other)) for one row each. */
export function klDivergence(base: ArrayLike<number>, other: ArrayLike<number>, eps = 1e-6): number {
  return klFromLogProbs(logSoftmax(base), logSoftmax(other), eps);
}

/** Rows of a [rows, vocab] logits array. */
export function rowsOf(logits: Float32Array, vocab: number): Float32Array[] {
  const n = logits.length / vocab;
  return Array.from({ length: n }, (_, r) => logits.subarray(r * vocab, (r + 1) * vocab));
}

export const mean = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return xs.length ? s / xs.length : NaN;
};
