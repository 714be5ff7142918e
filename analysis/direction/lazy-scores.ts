/**
 * Induce and KL scores computed only as far as the selection needs them (docs/direction-cost.md §10).
 *
 * selectDirection (selection.ts) takes the lowest bypass among the candidates that pass every filter, and, when none
 * does, the lowest bypass within the layer filter. So once every bypass is known, visiting the candidates in the
 * selection's own order (byBypass) and computing induce, then KL only where induce passes, the first candidate that
 * passes everything is the selection: no candidate ranked after it can change it, whatever its scores. Without a
 * survivor every candidate gets visited, and the fallback reads only bypass. The selected candidate's missing scores
 * (a fallback pick that failed induce has no KL) are computed at the end, so the selection is always reported whole.
 * The skipped scores stay NaN and are named in `skipped`; `all` computes every score.
 */
import { type CandidateScore, type SelectionOptions, byBypass, filterReasons, maxLayerOf, selectDirection } from './selection.ts';

/** A candidate whose bypass score is known. */
export type BypassScored = Pick<CandidateScore, 'pos' | 'layer' | 'bypass' | 'norm'>;

/** The two later scores of one candidate, computed on demand. */
export interface LaterScores {
  induce(c: BypassScored): Promise<number>;
  kl(c: BypassScored): Promise<number>;
}

/** Completes `cands` (same order) with induce and KL: every one when `all`, else only those the selection needs. */
export async function completeScores(
  cands: readonly BypassScored[],
  o: SelectionOptions,
  score: LaterScores,
  all = false,
): Promise<CandidateScore[]> {
  const out: CandidateScore[] = cands.map((c) => ({ ...c, induce: NaN, kl: NaN, skipped: ['induce', 'kl'] }));
  const fill = async (c: CandidateScore, which: 'induce' | 'kl') => {
    c[which] = await score[which](c);
    const left = c.skipped!.filter((x) => x !== which);
    if (left.length) c.skipped = left;
    else delete c.skipped;
  };
  if (all) {
    for (const c of out) {
      await fill(c, 'induce');
      await fill(c, 'kl');
    }
    return out;
  }
  const maxLayer = maxLayerOf(o.nLayers, o.maxLayerFraction ?? 0.8);
  const order = out.filter((c) => !Number.isNaN(c.bypass) && c.layer < maxLayer).sort(byBypass);
  for (const c of order) {
    await fill(c, 'induce');
    if (Number.isNaN(c.induce) || c.induce < (o.minInduce ?? 0)) continue;
    await fill(c, 'kl');
    if (filterReasons(c, o).length === 0) break;
  }
  if (out.length === 0) return out; // nothing scored (every r = 0): the pipeline reports the degenerate data
  const { selected } = selectDirection(out, o);
  for (const which of selected.skipped ?? []) await fill(selected, which);
  return out;
}
