/**
 * Scores every candidate (docs/method-notes.md §2.5): bypass (harmful val, ablation), KL (harmless val, ablation vs
 * base) and induce (harmless val, addition at the candidate's layer). The two ablation runs share one
 * batched pass over harmful ∪ harmless val. The induce run changes nothing below the candidate's layer, so it
 * starts there from the residual the base run kept (model-runs.ts lastLogitsFrom): the same numbers, bit for bit
 * (test/induce-from-residuals.test.ts), for (L - layer) / L of the forward.
 */
import type { Model } from '../../models/types.ts';
import type { Candidates } from './diff-means.ts';
import { norm } from '../vector-math.ts';
import { ablationHooks, additionHook } from '../interventions.ts';
import { klFromLogProbs, mean } from '../logit-math.ts';
import { type RunOptions, lastLogits, lastLogitsFrom, lastLogitsKeepingResiduals, logProbsOf, refusalScoresOf } from '../model-runs.ts';
import { type PhaseTimer, noPhaseTimer } from '../progress.ts';
import type { CandidateScore } from './selection.ts';

export interface ScoreOptions extends Omit<RunOptions, 'hooks'> {
  refusalIds: readonly number[];
  /** Activation-addition coefficient for the induce score (Arditi: +1). */
  coeff?: number;
  /** Score only these candidates (the rest get NaN scores): quick profiles and tests. */
  include?: (pos: number, layer: number) => boolean;
  /**
   * Start each induce run at the candidate's layer from the base run's residual (default true). false runs every
   * induce forward from the embedding: the same scores, slower (kept for the equality test and the benchmark).
   */
  induceFromResiduals?: boolean;
  /** Receives the phases 'score: base run', 'score: ablation (bypass + KL)', 'score: induce'. */
  timer?: PhaseTimer;
}

/** Whether scoreCandidates scores the candidate at (relative pos, layer) with raw norm rn. */
function isScored(opts: Pick<ScoreOptions, 'include'>, pos: number, layer: number, rn: number): boolean {
  // Layer 0's post-instruction tokens are identical in every prompt: r = 0 has no direction to score.
  return rn > 0 && Number.isFinite(rn) && (!opts.include || opts.include(pos, layer));
}

/**
 * Prompt forwards scoreCandidates will run (the progress total): only the candidates it scores, so that the ETA does
 * not count the layers the layer filter drops.
 */
export function scoringWork(c: Candidates, nHarmful: number, nHarmless: number, opts: Pick<ScoreOptions, 'include'> = {}): number {
  let n = 0;
  for (let p = 0; p < c.nPos; p++)
    for (let layer = 0; layer < c.nLayers; layer++) if (isScored(opts, p - c.nPos, layer, norm(c.get(p, layer)))) n++;
  return n * (nHarmful + 2 * nHarmless);
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
  const batching = { batchSize: opts.batchSize, signal: opts.signal, onBatch: opts.onBatch };
  const scored = (p: number, layer: number, rn: number) => isScored(opts, p - cands.nPos, layer, rn);
  const layers = new Set<number>();
  for (let p = 0; p < cands.nPos; p++)
    for (let layer = 0; layer < cands.nLayers; layer++) if (scored(p, layer, norm(cands.get(p, layer)))) layers.add(layer);
  const fromResiduals = opts.induceFromResiduals ?? true;

  let stop = timer.begin('score: base run');
  const quiet = { ...batching, onBatch: undefined };
  const base = fromResiduals
    ? await lastLogitsKeepingResiduals(
        model,
        harmlessVal,
        [...layers].sort((a, b) => a - b),
        quiet,
      )
    : { logits: await lastLogits(model, harmlessVal, quiet), cache: null };
  const baseLp = logProbsOf(base.logits, vocab);
  stop();
  const both = [...harmfulVal, ...harmlessVal];
  const out: CandidateScore[] = [];
  for (let p = 0; p < cands.nPos; p++)
    for (let layer = 0; layer < cands.nLayers; layer++) {
      const r = cands.get(p, layer);
      const rn = norm(r);
      const pos = p - cands.nPos;
      if (!scored(p, layer, rn)) {
        out.push({ pos, layer, ...NO_SCORE, norm: rn });
        continue;
      }
      stop = timer.begin('score: ablation (bypass + KL)');
      const abl = await lastLogits(model, both, { ...batching, hooks: ablationHooks(r) });
      const bypass = mean(refusalScoresOf(abl.subarray(0, harmfulVal.length * vocab), vocab, opts.refusalIds));
      const ablLp = logProbsOf(abl.subarray(harmfulVal.length * vocab), vocab);
      const kl = mean(ablLp.map((q, i) => klFromLogProbs(baseLp[i], q)));
      stop();
      stop = timer.begin('score: induce');
      const hooks = [additionHook(r, layer, { coeff: opts.coeff ?? 1 })];
      const add = base.cache
        ? await lastLogitsFrom(model, base.cache, layer, { ...batching, hooks })
        : await lastLogits(model, harmlessVal, { ...batching, hooks });
      const induce = mean(refusalScoresOf(add, vocab, opts.refusalIds));
      stop();
      out.push({ pos, layer, bypass, induce, kl, norm: rn });
    }
  return out;
}
