/**
 * scoreCandidates (docs/method-notes.md §2.5) on tiny-chat against a direct, one-prompt-at-a-time computation of each
 * score from its definition: bypass = mean harmful refusal log-odds under ablation, induce = mean harmless
 * refusal log-odds under +1·r at the candidate's layer, KL = mean KL(P_base || P_ablated) with eps 1e-6
 * (clarifications: the base distribution weighs the sum). Unbatched forwards make the reference independent
 * of the batching / left padding scoreCandidates uses.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { scoreCandidates, scoredCount } from '../analysis/direction/candidate-scores.ts';
import type { Candidates } from '../analysis/direction/diff-means.ts';
import { ablationHooks, additionHook } from '../analysis/interventions.ts';
import type { Hook, Model } from '../models/types.ts';
import { tinyChatCandidates } from './helpers/tiny-chat-candidates.ts';

let model: Model;
let cands: Candidates;
let hv: number[][];
let sv: number[][];
let refusal: number[];

beforeAll(async () => {
  ({ model, cands, hv, sv, refusal } = await tinyChatCandidates(8, [8, 11], [8, 11]));
});

/** Float64 softmax of one prompt's last-position logits, computed alone (no batch, no padding). */
async function probs(prompt: number[], hooks: Hook[] = []): Promise<number[]> {
  const res = await model.forward([prompt], { hooks, logits: 'last' });
  const l = Array.from(res.logits);
  const max = Math.max(...l);
  const e = l.map((x) => Math.exp(x - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}
const logOdds = (p: number[]) => {
  const pr = refusal.reduce((s, t) => s + p[t], 0);
  return Math.log(pr + 1e-8) - Math.log(1 - pr + 1e-8);
};
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const kl = (p: number[], q: number[]) => p.reduce((s, pi, i) => s + pi * (Math.log(pi + 1e-6) - Math.log(q[i] + 1e-6)), 0);

describe('scoreCandidates against the definitions, prompt by prompt', () => {
  it('bypass, induce and KL(base || ablated) of two candidates; unscored and zero candidates get NaN', async () => {
    const picked = new Set(['-1:4', '-2:2', '-1:0']);
    const include = (pos: number, layer: number) => picked.has(`${pos}:${layer}`);
    const stages: { label: string; total: number; done: number }[] = [];
    const progress = {
      start: (label: string, total: number) => void stages.push({ label, total, done: 0 }),
      increment: (n: number) => void (stages[stages.length - 1].done += n),
      stop: () => {},
    };
    const scores = await scoreCandidates(model, cands, hv, sv, { refusalIds: refusal, batchSize: 2, include, progress });
    // The progress totals count the scored candidates only (2 of 3 picked: layer 0 has r = 0), and without a
    // selection to stop at, each stage reports exactly its total of prompt forwards.
    expect(scoredCount(cands, { include })).toBe(2);
    expect(stages).toEqual([
      { label: 'scoring: bypass', total: 2 * hv.length, done: 2 * hv.length },
      { label: 'scoring: induce + KL', total: 2 * 2 * sv.length, done: 2 * 2 * sv.length },
    ]);
    expect(scores).toHaveLength(cands.nPos * cands.nLayers);
    expect(
      scores
        .filter((s) => !Number.isNaN(s.kl))
        .map((s) => `${s.pos}:${s.layer}`)
        .sort(),
    ).toEqual(['-1:4', '-2:2']);
    for (const s of scores) {
      // Layer 0: the post-instruction tokens are the same in every prompt, so r = 0 and there is nothing to score.
      if (!picked.has(`${s.pos}:${s.layer}`) || s.layer === 0) {
        expect([s.bypass, s.induce, s.kl].every(Number.isNaN), `${s.pos}:${s.layer}`).toBe(true);
        continue;
      }
      const r = cands.get(s.pos + cands.nPos, s.layer);
      const abl = ablationHooks(r);
      const bypass = avg(await Promise.all(hv.map(async (p) => logOdds(await probs(p, abl)))));
      const induce = avg(await Promise.all(sv.map(async (p) => logOdds(await probs(p, [additionHook(r, s.layer)])))));
      const base = await Promise.all(sv.map((p) => probs(p)));
      const ablated = await Promise.all(sv.map((p) => probs(p, abl)));
      const klBase = avg(base.map((p, i) => kl(p, ablated[i])));
      const klReverse = avg(base.map((p, i) => kl(ablated[i], p)));
      // f32 forwards of batched (left-padded) vs single prompts differ by ~1e-5 in the logits; log-odds are
      // O(1-10) and KL O(1e-2-1), so 1e-3 absolute (and 1e-3 relative on KL) leaves two orders of margin.
      expect(s.bypass).toBeCloseTo(bypass, 3);
      expect(s.induce).toBeCloseTo(induce, 3);
      expect(Math.abs(s.kl - klBase)).toBeLessThan(1e-3 * klBase + 1e-6);
      // The direction of the KL matters: the reverse divergence is measurably different on these prompts.
      expect(Math.abs(klReverse - klBase)).toBeGreaterThan(1e-2 * klBase);
      expect(s.norm).toBeCloseTo(Math.hypot(...r), 9);
    }
  });
});
