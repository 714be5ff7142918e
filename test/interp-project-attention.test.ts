/**
 * Direction projections against cached activations (float64 dot products computed here), during generation
 * against a full forward over the same tokens, and attention patterns against the cached hook_pattern.
 */
import { describe, expect, it } from 'vitest';
import { attentionPatterns } from '../analysis/attention/patterns.ts';
import { parseProjectionHooks, PROJECTABLE } from '../analysis/project/hook-points.ts';
import { projectDirection, projectDuringGeneration } from '../analysis/project/projection.ts';
import { UsageError } from '../engine/errors.ts';
import { makeRng } from '../models/sampler.ts';
import { smallModel } from './helpers/synthetic-model.ts';

const direction = (d: number, seed = 3) => {
  const rng = makeRng(seed);
  return Float32Array.from({ length: d }, () => rng() * 2 - 1);
};

describe.each(['llama', 'gpt2'] as const)('direction projections (%s)', (family) => {
  const model = smallModel(family);
  const { nLayers: L, dModel: d } = model.config;
  const r = direction(d);
  const norm = Math.hypot(...r);
  const ids = [1, 7, 22, 5, 9, 30];

  it('equal act · r / ‖r‖ at every hook point × layer × position', async () => {
    const res = await projectDirection(model, ids, r);
    const c = await model.forward([ids], { cache: PROJECTABLE.map((h) => `blocks.*.${h}`) });
    expect(Object.keys(res.hooks)).toEqual([...PROJECTABLE]);
    expect(res.directionNorm).toBeCloseTo(norm, 5);
    for (const h of PROJECTABLE) {
      expect(res.hooks[h]).toHaveLength(L);
      for (let l = 0; l < L; l++) {
        const act = c.cache.get(`blocks.${l}.${h}`)!.data;
        expect(res.hooks[h][l]).toHaveLength(ids.length);
        for (let p = 0; p < ids.length; p++) {
          let dot = 0;
          for (let i = 0; i < d; i++) dot += act[p * d + i] * r[i];
          expect(res.hooks[h][l][p]).toBeCloseTo(dot / norm, 9);
        }
      }
    }
  });

  it('during generation: prompt columns as without generation, generated columns as a full forward over the run tokens', async () => {
    const hooks = parseProjectionHooks(['blocks.*.hook_resid_pre', 'hook_mlp_out']);
    const g = await projectDuringGeneration(model, ids, r, { hooks, maxNewTokens: 4, stopTokens: [] });
    expect(g.generatedIds).toHaveLength(4);
    expect(g.ids).toEqual([...ids, ...g.generatedIds.slice(0, 3)]);
    expect(g.promptLength).toBe(ids.length);
    const full = await projectDirection(model, g.ids, r, { hooks });
    const prompt = await projectDirection(model, ids, r, { hooks });
    for (const h of hooks)
      for (let l = 0; l < L; l++) {
        expect(g.hooks[h][l].slice(0, ids.length)).toEqual(prompt.hooks[h][l]);
        // KV-cached decode vs one full forward: same math, different f32 summation order.
        g.hooks[h][l].forEach((v, p) => expect(Math.abs(v - full.hooks[h][l][p])).toBeLessThan(1e-4 * (1 + Math.abs(v))));
      }
  });

  it('rejects a direction of the wrong width, a zero direction and unknown hook names', async () => {
    await expect(projectDirection(model, ids, new Float32Array(d + 1))).rejects.toThrow(
      /direction has 33 values, the model's d_model is 32/,
    );
    await expect(projectDirection(model, ids, new Float32Array(d))).rejects.toThrow(/norm 0/);
    expect(() => parseProjectionHooks(['attn.hook_z'], '--hooks')).toThrow(UsageError);
    expect(() => parseProjectionHooks(['attn.hook_z'], '--hooks')).toThrow(/--hooks: 'attn.hook_z' is not a d_model-wide block hook point/);
  });
});

describe('attention patterns', () => {
  const model = smallModel('llama');
  const ids = [3, 4, 5, 6, 7];
  it('are the cached hook_pattern: causal rows summing to 1', async () => {
    const a = await attentionPatterns(model, ids);
    const c = await model.forward([ids], { cache: ['blocks.1.attn.hook_pattern'] });
    const T = ids.length;
    expect(a.layers).toHaveLength(model.config.nLayers);
    expect(a.layers[1].heads).toHaveLength(model.config.nHeads);
    const raw = c.cache.get('blocks.1.attn.hook_pattern')!.data;
    for (const { head, pattern } of a.layers[1].heads)
      for (let q = 0; q < T; q++) {
        expect(pattern[q]).toEqual(Array.from(raw.subarray((head * T + q) * T, (head * T + q + 1) * T)));
        expect(pattern[q].reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
        for (let k = q + 1; k < T; k++) expect(pattern[q][k]).toBe(0);
      }
  });
  it('select layers and heads, and name an index out of range', async () => {
    const a = await attentionPatterns(model, ids, { layers: [1], heads: [0, 3] });
    expect(a.layers.map((l) => l.layer)).toEqual([1]);
    expect(a.layers[0].heads.map((h) => h.head)).toEqual([0, 3]);
    await expect(attentionPatterns(model, ids, { layers: [2] })).rejects.toThrow(/layer 2 is outside 0..1/);
    await expect(attentionPatterns(model, ids, { heads: [4] })).rejects.toThrow(/head 4 is outside 0..3/);
  });
});
