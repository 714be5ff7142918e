/**
 * Direction selection over per-candidate scores (docs/method-notes.md §2.5 with clarifications' layer filter and
 * no-survivor fallback). Pure: the scores come from analysis/direction/candidate-scores.ts.
 */

export interface CandidateScore {
  /** Relative position: -nPos .. -1 (-1 = the last prompt token). */
  pos: number;
  layer: number;
  /** Mean refusal score on harmful val under directional ablation (lower is better). */
  bypass: number;
  /** Mean refusal score on harmless val under activation addition at `layer` (higher is better). */
  induce: number;
  /** Mean KL(base || ablated) on harmless val at the last position. */
  kl: number;
  /** |r| of the raw candidate. */
  norm: number;
  /**
   * Scores left uncomputed (NaN) because the selection did not need them (analysis/direction/lazy-scores.ts):
   * induce and KL of a candidate ranked after the selected one, or KL of one that failed the induce filter. Absent
   * when every score was computed.
   */
  skipped?: ('induce' | 'kl')[];
}

/** 'outranked': induce and KL were not computed, because a candidate with a lower bypass passed every filter. */
export type FilterReason = 'nan' | 'layer' | 'kl' | 'induce' | 'outranked';

export interface SelectionOptions {
  nLayers: number;
  /** Drop layers >= floor(F * L). Default 0.8. */
  maxLayerFraction?: number;
  maxKl?: number; // 0.1
  minInduce?: number; // 0
}

export interface Selection {
  selected: CandidateScore;
  /** True when the selected candidate passed every filter; false for the fallback pick. */
  filtered: boolean;
  /** Survivors sorted by ascending bypass. */
  survivors: CandidateScore[];
  /** Every candidate with the filters it failed (empty = survivor). */
  reasons: { pos: number; layer: number; failed: FilterReason[] }[];
}

export function maxLayerOf(nLayers: number, fraction = 0.8): number {
  // Guard against 0.8 * 10 = 7.999999: floor with a tiny tolerance.
  return Math.floor(nLayers * fraction + 1e-9);
}

export function filterReasons(c: CandidateScore, o: SelectionOptions): FilterReason[] {
  const failed: FilterReason[] = [];
  const induce = !c.skipped?.includes('induce');
  const kl = !c.skipped?.includes('kl');
  if ([c.bypass, induce ? c.induce : 0, kl ? c.kl : 0].some((x) => Number.isNaN(x))) failed.push('nan');
  if (c.layer >= maxLayerOf(o.nLayers, o.maxLayerFraction ?? 0.8)) failed.push('layer');
  if (kl && c.kl > (o.maxKl ?? 0.1)) failed.push('kl');
  if (induce && c.induce < (o.minInduce ?? 0)) failed.push('induce');
  if (failed.length === 0 && c.skipped?.length) failed.push('outranked');
  return failed;
}

/** The order selection ranks candidates in: ascending bypass, ties by layer, then position. */
export const byBypass = (a: Pick<CandidateScore, 'bypass' | 'layer' | 'pos'>, b: Pick<CandidateScore, 'bypass' | 'layer' | 'pos'>) =>
  a.bypass - b.bypass || a.layer - b.layer || a.pos - b.pos;

/**
 * Lowest bypass among survivors; without survivors, the lowest (non-NaN) bypass within the layer filter
 * (or among all candidates if the layer filter leaves none), marked filtered: false. Throws only on an empty list.
 */
export function selectDirection(cands: CandidateScore[], o: SelectionOptions): Selection {
  if (cands.length === 0) throw new RangeError('selectDirection: no candidates');
  const reasons = cands.map((c) => ({ pos: c.pos, layer: c.layer, failed: filterReasons(c, o) }));
  const survivors = cands.filter((_, i) => reasons[i].failed.length === 0).sort(byBypass);
  if (survivors.length > 0) return { selected: survivors[0], filtered: true, survivors, reasons };
  const maxLayer = maxLayerOf(o.nLayers, o.maxLayerFraction ?? 0.8);
  const finite = cands.filter((c) => !Number.isNaN(c.bypass));
  const inLayers = finite.filter((c) => c.layer < maxLayer);
  const pool = inLayers.length ? inLayers : finite.length ? finite : cands;
  return { selected: pool.slice().sort(byBypass)[0], filtered: false, survivors, reasons };
}
