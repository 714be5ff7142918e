/**
 * Scores every candidate (docs/method-notes.md §2.5): bypass (harmful val, ablation), KL (harmless val, ablation vs
 * base) and induce (harmless val, addition at the candidate's layer). The two ablation runs share one
 * batched pass over harmful ∪ harmless val.
 */
import type { Model } from '../../models/types.ts';
import type { Candidates } from './diff-means.ts';
import { norm } from '../vector-math.ts';
import { ablationHooks, additionHook } from '../interventions.ts';
import { klFromLogProbs, mean } from '../logit-math.ts';
import { type RunOptions, lastLogits, logProbsOf, refusalScoresOf } from '../model-runs.ts';
import type { CandidateScore } from './selection.ts';

export interface ScoreOptions extends Omit<RunOptions, 'hooks'> {
  refusalIds: readonly number[];
  /** Activation-addition coefficient for the induce score (Arditi: +1). */
  coeff?: number;
  /** Score only these candidates (the rest get NaN scores): quick profiles and tests. */
  include?: (pos: number, layer: number) => boolean;
}

/** Prompt forwards scoreCandidates will run (for a progress total). */
export function scoringWork(c: Candidates, nHarmful: number, nHarmless: number): number {
  return c.nPos * c.nLayers * (nHarmful + 2 * nHarmless);
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
  const batching = { batchSize: opts.batchSize, signal: opts.signal, onBatch: opts.onBatch };
  const baseLp = logProbsOf(await lastLogits(model, harmlessVal, { ...batching, onBatch: undefined }), vocab);
  const both = [...harmfulVal, ...harmlessVal];
  const out: CandidateScore[] = [];
  for (let p = 0; p < cands.nPos; p++)
    for (let layer = 0; layer < cands.nLayers; layer++) {
      const r = cands.get(p, layer);
      const rn = norm(r);
      const pos = p - cands.nPos;
      // Layer 0's post-instruction tokens are identical in every prompt: r = 0 has no direction to score.
      if (!(rn > 0) || !Number.isFinite(rn) || (opts.include && !opts.include(pos, layer))) {
        out.push({ pos, layer, ...NO_SCORE, norm: rn });
        opts.onBatch?.(both.length + harmlessVal.length);
        continue;
      }
      const abl = await lastLogits(model, both, { ...batching, hooks: ablationHooks(r) });
      const bypass = mean(refusalScoresOf(abl.subarray(0, harmfulVal.length * vocab), vocab, opts.refusalIds));
      const ablLp = logProbsOf(abl.subarray(harmfulVal.length * vocab), vocab);
      const kl = mean(ablLp.map((q, i) => klFromLogProbs(baseLp[i], q)));
      const add = await lastLogits(model, harmlessVal, { ...batching, hooks: [additionHook(r, layer, { coeff: opts.coeff ?? 1 })] });
      const induce = mean(refusalScoresOf(add, vocab, opts.refusalIds));
      out.push({ pos, layer, bypass, induce, kl, norm: rn });
    }
  return out;
}
