/**
 * Activation patching: the two property tests of the issue (clean into itself; every position of
 * blocks.0.hook_resid_pre restores the clean metric exactly), single patches against a hand-written hook,
 * batching invariance, metrics against logit-math, and the input errors.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { refusalScore } from '../analysis/logit-math.ts';
import type { PatchMetric } from '../analysis/patch/metric.ts';
import { activationPatching, runPatches } from '../analysis/patch/patching.ts';
import { UsageError } from '../engine/errors.ts';
import { smallModel } from './helpers/synthetic-model.ts';

const prompts = (n: number) => fc.array(fc.integer({ min: 1, max: 63 }), { minLength: n, maxLength: n });
const pair = fc.integer({ min: 2, max: 5 }).chain((n) => fc.tuple(prompts(n), prompts(n)));
const metricArb: fc.Arbitrary<PatchMetric> = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 63 }))
    .map(([answer, wrong]) => ({ kind: 'logit-diff' as const, answer, wrong })),
  fc
    .uniqueArray(fc.integer({ min: 0, max: 63 }), { minLength: 1, maxLength: 3 })
    .map((refusalTokens) => ({ kind: 'refusal-score' as const, refusalTokens })),
);

describe.each(['llama', 'gpt2'] as const)('activation patching (%s, reference backend)', (family) => {
  const model = smallModel(family);
  const { nLayers: L, nHeads: H, vocabSize: V } = model.config;

  it('patching the clean run into itself gives the clean metric everywhere', async () => {
    await fc.assert(
      fc.asyncProperty(pair, metricArb, async ([clean], metric) => {
        const r = await activationPatching(model, clean, clean, metric, { batchSize: 8 });
        expect(r.corrupted).toBe(r.clean);
        for (const v of [...r.resid_pre.flat(), ...r.attn_out, ...r.mlp_out, ...r.heads.flat()]) expect(v).toBe(r.clean);
        expect(r.resid_pre).toHaveLength(L);
        expect(r.resid_pre[0]).toHaveLength(clean.length);
        expect(r.heads[0]).toHaveLength(H);
      }),
      { numRuns: 6 },
    );
  });

  it('patching every position of blocks.0.hook_resid_pre restores the clean metric exactly', async () => {
    await fc.assert(
      fc.asyncProperty(pair, metricArb, async ([clean, corrupt], metric) => {
        const c = await model.forward([clean], { cache: ['blocks.0.hook_resid_pre'] });
        const base = await activationPatching(model, clean, corrupt, metric, { sites: [] });
        const [v] = await runPatches(model, corrupt, c.cache, metric, [{ site: 'resid_pre', layer: 0 }]);
        expect(v).toBe(base.clean);
      }),
      { numRuns: 8 },
    );
  });

  it('one patch equals a hand-written hook on the corrupted run; batching does not change results', async () => {
    const clean = [5, 9, 13, 2];
    const corrupt = [5, 30, 13, 7];
    const metric: PatchMetric = { kind: 'logit-diff', answer: 3, wrong: 8 };
    const a = await activationPatching(model, clean, corrupt, metric, { batchSize: 1 });
    const b = await activationPatching(model, clean, corrupt, metric, { batchSize: 7 });
    expect(b.resid_pre).toEqual(a.resid_pre);
    expect(b.heads).toEqual(a.heads);
    expect(b.forwards).toBeLessThan(a.forwards);
    const cache = (await model.forward([clean], { cache: ['blocks.*.hook_resid_pre', 'blocks.*.attn.hook_z', 'blocks.*.hook_mlp_out'] }))
      .cache;
    const manual = async (name: string, edit: (act: Float32Array, clean: Float32Array) => void) => {
      const r = await model.forward([corrupt], { hooks: [{ name, fn: (act) => edit(act, cache.get(name)!.data) }], logits: 'last' });
      return r.logits[metric.answer] - r.logits[metric.wrong];
    };
    const d = model.config.dModel;
    const hd = model.config.headDim;
    expect(a.resid_pre[1][1]).toBe(await manual('blocks.1.hook_resid_pre', (act, c) => act.set(c.subarray(d, 2 * d), d)));
    expect(a.mlp_out[0]).toBe(await manual('blocks.0.hook_mlp_out', (act, c) => act.set(c)));
    const w = H * hd;
    expect(a.heads[1][2]).toBe(
      await manual('blocks.1.attn.hook_z', (act, c) => {
        for (let p = 0; p < 4; p++) act.set(c.subarray(p * w + 2 * hd, p * w + 3 * hd), p * w + 2 * hd);
      }),
    );
    // Positions the two prompts share and nothing upstream differs at are no-ops: position 0 at layer 0.
    expect(a.resid_pre[0][0]).toBe(a.corrupted);
  });

  it('metrics: logit difference and refusal score of the last position', async () => {
    const ids = [4, 8, 15];
    const last = (await model.forward([ids], { logits: 'last' })).logits;
    const ld = await activationPatching(model, ids, ids, { kind: 'logit-diff', answer: 10, wrong: 20 }, { sites: [] });
    expect(ld.clean).toBe(last[10] - last[20]);
    const rs = await activationPatching(model, ids, ids, { kind: 'refusal-score', refusalTokens: [1, 2] }, { sites: [] });
    expect(rs.clean).toBe(refusalScore(last, [1, 2], 0, V));
  });
});

describe('activation patching input errors', () => {
  const model = smallModel('llama');
  const m: PatchMetric = { kind: 'logit-diff', answer: 1, wrong: 2 };
  it('names both lengths on a length mismatch', async () => {
    await expect(activationPatching(model, [1, 2, 3], [1, 2], m)).rejects.toThrow(UsageError);
    await expect(activationPatching(model, [1, 2, 3], [1, 2], m)).rejects.toThrow(/clean prompt has 3 tokens and the corrupted one 2/);
  });
  it('rejects answer ids outside the vocabulary, empty refusal lists and bad batch sizes', async () => {
    await expect(activationPatching(model, [1], [2], { kind: 'logit-diff', answer: 64, wrong: 0 })).rejects.toThrow(
      /token id 64 is outside 0..63/,
    );
    await expect(activationPatching(model, [1], [2], { kind: 'refusal-score', refusalTokens: [] })).rejects.toThrow(/no refusal tokens/);
    await expect(activationPatching(model, [1], [2], m, { batchSize: 0 })).rejects.toThrow(/batchSize 0/);
    await expect(activationPatching(model, [], [], m)).rejects.toThrow(/empty/);
  });
});
