/**
 * One patch, then generation (analysis/patch/patched-generate.ts): its patched metric is the patching sweep's cell
 * for the same site; patching every position of blocks.0.hook_resid_pre turns the corrupted prompt's continuation
 * into the clean prompt's own; the unpatched continuation is plain generate's; and the input errors.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Experiment } from '../analysis/patch/experiments.ts';
import type { PatchMetric } from '../analysis/patch/metric.ts';
import { activationPatching } from '../analysis/patch/patching.ts';
import { patchedGeneration, resolvePatch } from '../analysis/patch/patched-generate.ts';
import { UsageError } from '../engine/errors.ts';
import { smallModel } from './helpers/synthetic-model.ts';

const prompts = (n: number) => fc.array(fc.integer({ min: 1, max: 63 }), { minLength: n, maxLength: n });
const pair = fc.integer({ min: 2, max: 5 }).chain((n) => fc.tuple(prompts(n), prompts(n)));
const metric: PatchMetric = { kind: 'logit-diff', answer: 3, wrong: 8 };
const GEN = { maxNewTokens: 6, stopTokens: [] };

describe('patched generation (llama, reference backend)', () => {
  const model = smallModel('llama');
  const { nLayers: L, nHeads: H } = model.config;

  it("the patched metric is the sweep's cell for the same site (every site), and before is plain generate", async () => {
    await fc.assert(
      fc.asyncProperty(
        pair,
        fc.integer({ min: 0, max: L - 1 }),
        fc.nat(),
        fc.integer({ min: 0, max: H - 1 }),
        async ([clean, corrupt], layer, p, head) => {
          const sweep = await activationPatching(model, clean, corrupt, metric);
          const pos = p % clean.length;
          const cases: Array<[Experiment, number]> = [
            [{ site: 'resid_pre', layer, pos }, sweep.resid_pre[layer][pos]],
            [{ site: 'resid_pre', layer, pos: pos - clean.length }, sweep.resid_pre[layer][pos]], // from the end
            [{ site: 'attn_out', layer }, sweep.attn_out[layer]],
            [{ site: 'mlp_out', layer }, sweep.mlp_out[layer]],
            [{ site: 'heads', layer, head }, sweep.heads[layer][head]],
          ];
          const plain = (await model.generate([corrupt], GEN)).tokens[0];
          for (const [e, want] of cases) {
            const r = await patchedGeneration(model, clean, corrupt, e, metric, GEN);
            expect(r.patched).toBe(want);
            expect(r.target).toBe(sweep.corrupted);
            expect(r.source).toBe(sweep.clean);
            expect(r.before).toEqual(plain);
            expect(r.after).toHaveLength(GEN.maxNewTokens);
          }
        },
      ),
      { numRuns: 4 },
    );
  });

  it("every position of blocks.0.hook_resid_pre: the corrupted prompt continues as the clean one's own", async () => {
    await fc.assert(
      fc.asyncProperty(pair, async ([clean, corrupt]) => {
        const own = (await model.generate([clean], GEN)).tokens[0];
        const r = await patchedGeneration(model, clean, corrupt, { site: 'resid_pre', layer: 0 }, metric, GEN);
        expect(r.after).toEqual(own);
        expect(r.patched).toBe(r.source);
        expect(r.patch).toEqual({ site: 'resid_pre', layer: 0 });
      }),
      { numRuns: 6 },
    );
  });

  it('the patch applies to the prompt forward only: a patch that changes nothing there changes nothing after', async () => {
    // Position 0 at layer 0 holds the same token in both prompts: a no-op patch.
    const r = await patchedGeneration(model, [5, 9, 13], [5, 30, 2], { site: 'resid_pre', layer: 0, pos: 0 }, metric, GEN);
    expect(r.after).toEqual(r.before);
    expect(r.patched).toBe(r.target);
  });

  it('names the bad input: lengths, layer, position, head, metric ids', async () => {
    const e: Experiment = { site: 'resid_pre', layer: 0, pos: 0 };
    await expect(patchedGeneration(model, [1, 2, 3], [1, 2], e, metric)).rejects.toThrow(UsageError);
    await expect(patchedGeneration(model, [1, 2, 3], [1, 2], e, metric)).rejects.toThrow(/source prompt has 3 tokens and the target 2/);
    await expect(patchedGeneration(model, [], [], e, metric)).rejects.toThrow(/source prompt is empty/);
    await expect(patchedGeneration(model, [1], [2], { site: 'resid_pre', layer: L }, metric)).rejects.toThrow(
      `patch: layer ${L} is outside 0..${L - 1}`,
    );
    await expect(patchedGeneration(model, [1, 2], [3, 4], { site: 'resid_pre', layer: 0, pos: 2 }, metric)).rejects.toThrow(
      'patch: position 2 is outside 0..1 (or -2..-1)',
    );
    await expect(patchedGeneration(model, [1, 2], [3, 4], { site: 'resid_pre', layer: 0, pos: -3 }, metric)).rejects.toThrow(/position -3/);
    await expect(patchedGeneration(model, [1], [2], { site: 'heads', layer: 0 }, metric)).rejects.toThrow(/head undefined is outside/);
    await expect(patchedGeneration(model, [1], [2], e, { kind: 'logit-diff', answer: 64, wrong: 0 })).rejects.toThrow(/token id 64/);
    expect(resolvePatch({ site: 'mlp_out', layer: 1, pos: 3 }, L, H, 4)).toEqual({ site: 'mlp_out', layer: 1 });
  });
});
