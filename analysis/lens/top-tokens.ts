/**
 * Top-k tokens and target ranks of one logits row, in float64.
 *   topTokens(logProbs, k): { id, prob }[]                 — highest first, ties by lower id.
 *   targetStats(logProbs, ids): { id, prob, rank }[]       — rank 1 = most likely; ties share the better rank.
 */
export function topTokens(logProbs: Float64Array, k: number): { id: number; prob: number }[] {
  const best: number[] = [];
  for (let i = 0; i < logProbs.length; i++) {
    if (best.length === k && logProbs[i] <= logProbs[best[k - 1]]) continue;
    let j = best.length === k ? k - 1 : best.length;
    if (best.length < k) best.push(i);
    while (j > 0 && logProbs[best[j - 1]] < logProbs[i]) {
      best[j] = best[j - 1];
      j--;
    }
    best[j] = i;
  }
  return best.map((id) => ({ id, prob: Math.exp(logProbs[id]) }));
}

export function targetStats(logProbs: Float64Array, ids: readonly number[]): { id: number; prob: number; rank: number }[] {
  return ids.map((id) => {
    const lp = logProbs[id];
    let above = 0;
    for (let i = 0; i < logProbs.length; i++) if (logProbs[i] > lp) above++;
    return { id, prob: Math.exp(lp), rank: above + 1 };
  });
}
