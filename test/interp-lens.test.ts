/**
 * Logit lens against an independent float64 re-computation (norm + tied unembedding from the synthetic provider's
 * own tensors), its final entry against the model's output exactly, and the top-k / rank helpers against a sort.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { logitLens } from '../analysis/lens/logit-lens.ts';
import { targetStats, topTokens } from '../analysis/lens/top-tokens.ts';
import { logSoftmax } from '../analysis/logit-math.ts';
import { UsageError } from '../engine/errors.ts';
import { syntheticConfig, syntheticProvider } from '../models/synthetic.ts';
import { SMALL, smallModel } from './helpers/synthetic-model.ts';

/** softmax(E · norm(x)) in float64, norm per TransformerLens apply_ln_to_stack with the given scale source. */
function refProbs(x: Float32Array, scaleSrc: Float32Array, family: 'llama' | 'gpt2', p: number): Float64Array {
  const cfg = syntheticConfig({ ...SMALL, family, ...(family === 'gpt2' ? { nKvHeads: SMALL.nHeads } : {}) });
  const prov = syntheticProvider(cfg, 7);
  const { w, b } = prov.finalNorm();
  const E = prov.embedding();
  const d = cfg.dModel;
  const V = cfg.vocabSize;
  const row = Array.from(x.subarray(p * d, (p + 1) * d), Number);
  const src = Array.from(scaleSrc.subarray(p * d, (p + 1) * d), Number);
  const layer = cfg.norm === 'layer';
  const mean = (a: number[]) => (layer ? a.reduce((s, v) => s + v, 0) / d : 0);
  const mx = mean(row);
  const ms = mean(src);
  const scale = Math.sqrt(src.reduce((s, v) => s + (v - ms) ** 2, 0) / d + cfg.normEps);
  const n = row.map((v, i) => ((v - mx) / scale) * w[i] + (b ? b[i] : 0));
  const logits = Array.from({ length: V }, (_, t) => n.reduce((s, v, i) => s + v * E[t * d + i], 0));
  return Float64Array.from(logSoftmax(logits), Math.exp);
}

describe.each(['llama', 'gpt2'] as const)('logit lens (%s, reference backend)', (family) => {
  const model = smallModel(family);
  const L = model.config.nLayers;
  const ids = [3, 9, 17, 4, 40];

  it("the final entry is the model's own output distribution, exactly", async () => {
    const lens = await logitLens(model, ids, { topK: 4, targets: [5, 6] });
    const own = await model.forward([ids]);
    const V = model.config.vocabSize;
    const last = lens.layers[L];
    expect(last.layer).toBe(L);
    expect(last.hook).toBe('logits');
    for (const pos of last.positions) {
      const lp = logSoftmax(own.logits, pos.position * V, V);
      for (const t of [...pos.top, ...pos.targets]) expect(t.prob).toBe(Math.exp(lp[t.id]));
    }
  });

  it.each(['final', 'own'] as const)('intermediate layers match a float64 re-computation (scale %s)', async (scale) => {
    const lens = await logitLens(model, ids, { topK: 6, targets: [1, 63], scale });
    const r = await model.forward([ids], { cache: ['blocks.*.hook_resid_pre', `blocks.${L - 1}.hook_resid_post`] });
    const final = r.cache.get(`blocks.${L - 1}.hook_resid_post`)!.data;
    expect(lens.layers).toHaveLength(L + 1);
    for (let l = 0; l < L; l++) {
      const x = r.cache.get(`blocks.${l}.hook_resid_pre`)!.data;
      expect(lens.layers[l].hook).toBe(`blocks.${l}.hook_resid_pre`);
      for (const pos of lens.layers[l].positions) {
        const ref = refProbs(x, scale === 'final' ? final : x, family, pos.position);
        // f32 rounding of the normalised row and of the unembedding sums: logits err by ~1e-6 here.
        for (const t of [...pos.top, ...pos.targets]) expect(Math.abs(t.prob - ref[t.id])).toBeLessThan(1e-5);
        const order = Array.from(ref.keys()).sort((a, b) => ref[b] - ref[a]);
        expect(pos.top[0].id).toBe(order[0]);
        for (const t of pos.targets) expect(t.rank).toBe(1 + order.filter((i) => ref[i] > ref[t.id] + 1e-9).length);
      }
    }
    // The reference itself reproduces the model's output from the final residual (validates refProbs).
    const V = model.config.vocabSize;
    const ref = refProbs(final, final, family, 2);
    const own = Float64Array.from(logSoftmax(r.logits, 2 * V, V), Math.exp);
    for (let t = 0; t < V; t++) expect(Math.abs(ref[t] - own[t])).toBeLessThan(1e-5);
  });

  it('gives the same result one layer per forward as all layers in one', async () => {
    const a = await logitLens(model, ids, { topK: 3, positions: [-1, 0] });
    const b = await logitLens(model, ids, { topK: 3, positions: [-1, 0], batchSize: 1 });
    expect(b).toEqual(a);
    expect(a.layers[0].positions.map((p) => p.position)).toEqual([4, 0]);
  });
});

describe('logit lens input checks', () => {
  const model = smallModel('llama');
  it('rejects bad topK, targets, positions and empty prompts', async () => {
    await expect(logitLens(model, [1, 2], { topK: 0 })).rejects.toThrow(UsageError);
    await expect(logitLens(model, [1, 2], { targets: [64] })).rejects.toThrow(/target id 64 is outside 0..63/);
    await expect(logitLens(model, [1, 2], { positions: [2] })).rejects.toThrow(/position 2 is outside the prompt's 2 tokens/);
    await expect(logitLens(model, [])).rejects.toThrow(/empty prompt/);
  });
});

describe('top-k and target ranks', () => {
  it('agree with a full sort (ties: lower id first; rank counts strictly larger)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 30 }), (xs, k) => {
        const lp = Float64Array.from(xs);
        const kk = Math.min(k, xs.length);
        const order = Array.from(lp.keys()).sort((a, b) => lp[b] - lp[a] || a - b);
        expect(topTokens(lp, kk).map((t) => t.id)).toEqual(order.slice(0, kk));
        for (const s of targetStats(lp, [0, xs.length - 1])) expect(s.rank).toBe(1 + xs.filter((v) => v > lp[s.id]).length);
      }),
      { numRuns: 200 },
    );
  });
});
