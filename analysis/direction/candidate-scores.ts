/**
 * Scores the candidates (docs/method-notes.md §2.5): bypass (harmful val, ablation), induce (harmless val, addition
 * at the candidate's layer) and KL (harmless val, ablation vs base). Every scored candidate gets its bypass; induce and
 * KL follow in the selection's order, only as far as the selection needs them (lazy-scores.ts), unless `selection`
 * is left out. The induce run changes nothing below the candidate's layer, so it starts there from the residual the
 * base run kept (model-runs.ts lastLogitsFrom): the same numbers, bit for bit (test/induce-from-residuals.test.ts),
 * for (L - layer) / L of the forward.
 */
import type { Model } from '../../models/types.ts';
import type { Candidates } from './diff-means.ts';
import { norm } from '../vector-math.ts';
import { ablationHooks, additionHook } from '../interventions.ts';
import { klFromLogProbs, mean } from '../logit-math.ts';
import { type RunOptions, lastLogits, lastLogitsFrom, lastLogitsKeepingResiduals, logProbsOf, refusalScoresOf } from '../model-runs.ts';
import { type PhaseTimer, type Progress, noPhaseTimer, silentProgress } from '../progress.ts';
import { type BypassScored, completeScores } from './lazy-scores.ts';
import type { CandidateScore, SelectionOptions } from './selection.ts';

export interface ScoreOptions extends Omit<RunOptions, 'hooks' | 'onBatch'> {
  refusalIds: readonly number[];
  /** Activation-addition coefficient for the induce score (Arditi: +1). */
  coeff?: number;
  /** Score only these candidates (the rest get NaN scores): quick profiles and tests. */
  include?: (pos: number, layer: number) => boolean;
  /**
   * The selection the scores are for. Given, induce and KL are computed in its order until it is decided (the same
   * selection as scoring everything; the skipped scores are NaN and named in `skipped`). Left out, every scored
   * candidate gets every score.
   */
  selection?: SelectionOptions;
  /**
   * Start each induce run at the candidate's layer from the base run's residual (default true). false runs every
   * induce forward from the embedding: the same scores, slower (kept for the equality test and the benchmark).
   */
  induceFromResiduals?: boolean;
  /** Two stages: 'scoring: bypass' (exact total) and 'scoring: induce + KL' (total = every score, an upper bound). */
  progress?: Progress;
  /** Receives the phases 'score: base run', 'score: bypass (ablation)', 'score: induce' and 'score: KL (ablation)'. */
  timer?: PhaseTimer;
}

/** Whether scoreCandidates scores the candidate at (relative pos, layer) with raw norm rn. */
function isScored(opts: Pick<ScoreOptions, 'include'>, pos: number, layer: number, rn: number): boolean {
  // Layer 0's post-instruction tokens are identical in every prompt: r = 0 has no direction to score.
  return rn > 0 && Number.isFinite(rn) && (!opts.include || opts.include(pos, layer));
}

/** The candidates scoreCandidates scores (each gets a bypass score): `include`d ones with a direction. */
export function scoredCount(c: Candidates, opts: Pick<ScoreOptions, 'include'> = {}): number {
  let n = 0;
  for (let p = 0; p < c.nPos; p++)
    for (let layer = 0; layer < c.nLayers; layer++) if (isScored(opts, p - c.nPos, layer, norm(c.get(p, layer)))) n++;
  return n;
}

const NO_SCORE = { bypass: NaN, induce: NaN, kl: NaN };

export async function scoreCandidates(
  model: Model,
  cands: Candidates,
  harmfulVal: number[][],
  harmlessVal: number[][],
  opts: ScoreOptions,
): Promise<CandidateScore[]> {
  const vocab = model.config.vocabSize;
  const timer = opts.timer ?? noPhaseTimer;
  const progress = opts.progress ?? silentProgress;
  const onBatch = (n: number) => progress.increment(n);
  const batching = { batchSize: opts.batchSize, signal: opts.signal, onBatch };
  const scored: { p: number; layer: number; r: Float64Array; rn: number }[] = [];
  for (let p = 0; p < cands.nPos; p++)
    for (let layer = 0; layer < cands.nLayers; layer++) {
      const r = cands.get(p, layer);
      const rn = norm(r);
      if (isScored(opts, p - cands.nPos, layer, rn)) scored.push({ p, layer, r, rn });
    }
  const fromResiduals = opts.induceFromResiduals ?? true;

  let stop = timer.begin('score: base run');
  const quiet = { ...batching, onBatch: undefined };
  const layers = [...new Set(scored.map((c) => c.layer))].sort((a, b) => a - b);
  const base = fromResiduals
    ? await lastLogitsKeepingResiduals(model, harmlessVal, layers, quiet)
    : { logits: await lastLogits(model, harmlessVal, quiet), cache: null };
  const baseLp = logProbsOf(base.logits, vocab);
  stop();

  progress.start('scoring: bypass', scored.length * harmfulVal.length);
  const withBypass: BypassScored[] = [];
  const key = (c: BypassScored) => `${c.pos}:${c.layer}`;
  const direction = new Map<string, Float64Array>();
  for (const c of scored) {
    stop = timer.begin('score: bypass (ablation)');
    const abl = await lastLogits(model, harmfulVal, { ...batching, hooks: ablationHooks(c.r) });
    const s = { pos: c.p - cands.nPos, layer: c.layer, bypass: mean(refusalScoresOf(abl, vocab, opts.refusalIds)), norm: c.rn };
    stop();
    withBypass.push(s);
    direction.set(key(s), c.r);
  }
  progress.start('scoring: induce + KL', scored.length * 2 * harmlessVal.length);
  const later = {
    induce: async (c: BypassScored) => {
      stop = timer.begin('score: induce');
      const hooks = [additionHook(direction.get(key(c))!, c.layer, { coeff: opts.coeff ?? 1 })];
      const add = base.cache
        ? await lastLogitsFrom(model, base.cache, c.layer, { ...batching, hooks })
        : await lastLogits(model, harmlessVal, { ...batching, hooks });
      stop();
      return mean(refusalScoresOf(add, vocab, opts.refusalIds));
    },
    kl: async (c: BypassScored) => {
      stop = timer.begin('score: KL (ablation)');
      const ablLp = logProbsOf(await lastLogits(model, harmlessVal, { ...batching, hooks: ablationHooks(direction.get(key(c))!) }), vocab);
      stop();
      return mean(ablLp.map((q, i) => klFromLogProbs(baseLp[i], q)));
    },
  };
  const complete = opts.selection
    ? await completeScores(withBypass, opts.selection, later)
    : await completeScores(withBypass, { nLayers: cands.nLayers }, later, true);
  progress.stop();
  const byKey = new Map(complete.map((c) => [key(c), c]));
  const out: CandidateScore[] = [];
  for (let p = 0; p < cands.nPos; p++)
    for (let layer = 0; layer < cands.nLayers; layer++) {
      const pos = p - cands.nPos;
      out.push(byKey.get(`${pos}:${layer}`) ?? { pos, layer, ...NO_SCORE, norm: norm(cands.get(p, layer)) });
    }
  return out;
}
