/** Comparing a compressed model's refusal directions with the original's (docs/method-notes.md §1.5-1.6). */
import type { Candidates } from '../direction/diff-means.ts';
import { cosine, norm } from '../vector-math.ts';

/**
 * cos(r_o^(p,l), r_c^(p,l)) for every layer l at position index p (0..nPos-1). null where either vector's
 * norm is below `rel` times the largest norm over layers (layer 0: the post-instruction tokens are the same
 * in every prompt, so the difference in means is zero up to rounding).
 */
export function perLayerCosine(orig: Candidates, comp: Candidates, p: number, rel = 1e-6): (number | null)[] {
  const L = orig.nLayers;
  const no = Array.from({ length: L }, (_, l) => norm(orig.get(p, l)));
  const nc = Array.from({ length: L }, (_, l) => norm(comp.get(p, l)));
  const mo = Math.max(...no.filter(Number.isFinite));
  const mc = Math.max(...nc.filter(Number.isFinite));
  return Array.from({ length: L }, (_, l) => {
    if (!(no[l] > rel * mo) || !(nc[l] > rel * mc)) return null;
    return cosine(orig.get(p, l), comp.get(p, l));
  });
}

/** The lowest non-null cosine's layer (AIRD layer option "lowest-cosine"), or null. */
export function lowestCosineLayer(cos: (number | null)[]): number | null {
  let best: number | null = null;
  cos.forEach((c, l) => {
    if (c !== null && (best === null || c < cos[best]!)) best = l;
  });
  return best;
}
