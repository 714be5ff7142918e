/**
 * Induce and KL computed only as far as the selection needs them (analysis/direction/lazy-scores.ts): the same
 * selection as scoring every candidate. First as a property over random scores (ties, NaN, late layers, no survivor),
 * with the scores as oracles that count their calls; then on tiny-chat, where every score the lazy run computes must
 * equal, bit for bit, the one the full run computes.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreCandidates } from '../analysis/direction/candidate-scores.ts';
import { type BypassScored, completeScores } from '../analysis/direction/lazy-scores.ts';
import { type CandidateScore, type SelectionOptions, filterReasons, selectDirection } from '../analysis/direction/selection.ts';
import { type TinyChatCandidates, tinyChatCandidates } from './helpers/tiny-chat-candidates.ts';

const key = (c: { pos: number; layer: number }) => `${c.pos}:${c.layer}`;

/** The selection's identity and outcome, comparable across runs. */
const outcome = (cands: CandidateScore[], o: SelectionOptions) => {
  const s = selectDirection(cands, o);
  return { selected: { ...s.selected, skipped: undefined }, filtered: s.filtered };
};

// Scores drawn from a few values so that ties in bypass (broken by layer, then position) happen often.
const score = fc.oneof(fc.constantFrom(-2, -1, 0, 0.05, 0.1, 0.2, 1), fc.double({ min: -5, max: 5, noNaN: true }), fc.constant(NaN));
const candidate = fc.record({ bypass: score, induce: score, kl: fc.oneof(score, fc.double({ min: 0, max: 0.3, noNaN: true })) });

describe('completeScores against scoring every candidate (property)', () => {
  it('selects the same candidate, computes each score at most once and only what it reports, and reports the selection whole', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(candidate, { minLength: 1, maxLength: 24 }),
        fc.integer({ min: 2, max: 8 }),
        fc.constantFrom(0.5, 0.8, 1),
        async (raw, nLayers, maxLayerFraction) => {
          const o: SelectionOptions = { nLayers, maxLayerFraction };
          const full: CandidateScore[] = raw.map((r, i) => ({ pos: -1 - (i % 3), layer: Math.floor(i / 3) % nLayers, norm: 1, ...r }));
          // Distinct (pos, layer) per candidate: at most 3 positions per layer.
          const unique = full.filter((c, i) => full.findIndex((d) => key(d) === key(c)) === i);
          const truth = new Map(unique.map((c) => [key(c), c]));
          const calls = { induce: new Map<string, number>(), kl: new Map<string, number>() };
          const oracle = (which: 'induce' | 'kl') => async (c: BypassScored) => {
            calls[which].set(key(c), (calls[which].get(key(c)) ?? 0) + 1);
            return truth.get(key(c))![which];
          };
          const known = unique.map(({ pos, layer, bypass, norm }) => ({ pos, layer, bypass, norm }));
          const lazy = await completeScores(known, o, { induce: oracle('induce'), kl: oracle('kl') });
          expect(outcome(lazy, o)).toEqual(outcome(unique, o));
          for (const c of lazy) {
            const t = truth.get(key(c))!;
            for (const which of ['induce', 'kl'] as const) {
              const computed = !c.skipped?.includes(which);
              expect(calls[which].get(key(c)) ?? 0).toBe(computed ? 1 : 0);
              expect(Object.is(c[which], computed ? t[which] : NaN)).toBe(true);
            }
            // A candidate with skipped scores is never reported as a survivor.
            if (c.skipped) expect(filterReasons(c, o)).not.toEqual([]);
          }
          expect(selectDirection(lazy, o).selected.skipped).toBeUndefined();
          // all = true computes everything, in the given order.
          const every = await completeScores(known, o, { induce: oracle('induce'), kl: oracle('kl') }, true);
          expect(every.map((c) => ({ ...c }))).toEqual(unique);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stops at the first survivor in bypass order, and names what it skipped', async () => {
    const o: SelectionOptions = { nLayers: 10 };
    const cands: CandidateScore[] = [
      { pos: -1, layer: 1, bypass: -1, induce: 1, kl: 0.01, norm: 1 }, // survivor, but not the lowest bypass
      { pos: -1, layer: 2, bypass: -3, induce: -1, kl: 0.01, norm: 1 }, // fails induce: KL never needed
      { pos: -1, layer: 3, bypass: -2, induce: 1, kl: 0.5, norm: 1 }, // fails KL
      { pos: -1, layer: 4, bypass: -1.5, induce: 1, kl: 0.02, norm: 1 }, // the selection
      { pos: -1, layer: 9, bypass: -9, induce: 1, kl: 0.01, norm: 1 }, // beyond the layer filter
    ];
    const t = new Map(cands.map((c) => [key(c), c]));
    const lazy = await completeScores(
      cands.map(({ pos, layer, bypass, norm }) => ({ pos, layer, bypass, norm })),
      o,
      { induce: async (c) => t.get(key(c))!.induce, kl: async (c) => t.get(key(c))!.kl },
    );
    expect(lazy.map((c) => c.skipped)).toEqual([['induce', 'kl'], ['kl'], undefined, undefined, ['induce', 'kl']]);
    expect(lazy.map((c) => filterReasons(c, o))).toEqual([['outranked'], ['induce'], ['kl'], [], ['layer']]);
    const s = selectDirection(lazy, o);
    expect([s.selected.layer, s.filtered, s.survivors.length]).toEqual([4, true, 1]);
  });

  it('completes an empty list to an empty list (nothing was scored)', async () => {
    const never = async () => expect.unreachable('no score to compute');
    expect(await completeScores([], { nLayers: 4 }, { induce: never, kl: never })).toEqual([]);
  });

  it('without a survivor, the fallback pick gets its skipped KL computed', async () => {
    const o: SelectionOptions = { nLayers: 10 };
    const cands: CandidateScore[] = [
      { pos: -1, layer: 1, bypass: -5, induce: -1, kl: 0.3, norm: 1 },
      { pos: -1, layer: 2, bypass: -2, induce: 1, kl: 0.4, norm: 1 },
    ];
    const t = new Map(cands.map((c) => [key(c), c]));
    const lazy = await completeScores(
      cands.map(({ pos, layer, bypass, norm }) => ({ pos, layer, bypass, norm })),
      o,
      { induce: async (c) => t.get(key(c))!.induce, kl: async (c) => t.get(key(c))!.kl },
    );
    expect(lazy).toEqual(cands);
    expect(selectDirection(lazy, o).filtered).toBe(false);
  });
});

describe('scoreCandidates with a selection to stop at, on tiny-chat', () => {
  let tiny: TinyChatCandidates;
  beforeAll(async () => {
    tiny = await tinyChatCandidates(16, [16, 26], [16, 27]);
  });
  afterAll(() => tiny?.model.dispose());

  it('selects what full scoring selects, every computed score equal bit for bit, with fewer KL passes', async () => {
    // tiny-chat's low-KL candidates all fail induce on so few prompts; a looser KL bound gives survivors.
    const { model, cands, hv, sv, refusal } = tiny;
    const o = { nLayers: model.config.nLayers, maxLayerFraction: 1, maxKl: 0.3 };
    const base = { refusalIds: refusal, batchSize: 4 };
    const klPasses = { lazy: 0, full: 0 };
    const counting = (k: 'lazy' | 'full') => ({ begin: (p: string) => (p === 'score: KL (ablation)' && klPasses[k]++, () => {}) });
    const full = await scoreCandidates(model, cands, hv, sv, { ...base, timer: counting('full') });
    const lazy = await scoreCandidates(model, cands, hv, sv, { ...base, selection: o, timer: counting('lazy') });
    expect(outcome(lazy, o)).toEqual(outcome(full, o));
    // A candidate passes every filter, so the lazy run stops before the end.
    expect(selectDirection(full, o).filtered).toBe(true);
    expect(klPasses.lazy).toBeGreaterThan(0);
    expect(klPasses.lazy).toBeLessThan(klPasses.full);
    for (let i = 0; i < full.length; i++) {
      const f = full[i];
      const l = lazy[i];
      expect([l.pos, l.layer, l.bypass, l.norm]).toEqual([f.pos, f.layer, f.bypass, f.norm]);
      for (const which of ['induce', 'kl'] as const) if (!l.skipped?.includes(which)) expect(l[which]).toBe(f[which]);
    }
  });
});
