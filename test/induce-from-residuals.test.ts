/**
 * Forward from block l given the residual entering it (ForwardOptions.start) against the full forward: bit for bit
 * on every backend here (the same rows reach block l with the same values, and everything from l on is the same
 * arithmetic), for both families, every layer, f32 and int8, with an activation-addition hook at l (the induce run)
 * and caches above l. Then candidate scoring with induce runs started from cached residuals against induce runs
 * from the embedding: identical scores. And the refusals: a start that does not fit, hooks below the start.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { scoreCandidates } from '../analysis/direction/candidate-scores.ts';
import { ablationHooks, additionHook } from '../analysis/interventions.ts';
import { lastLogits, lastLogitsFrom, lastLogitsKeepingResiduals } from '../analysis/model-runs.ts';
import { UsageError } from '../engine/errors.ts';
import { webgpuAvailable } from '../kernels/gpujs/webgpu.ts';
import type { Model } from '../models/types.ts';
import { backendModels, cpuBackends, sameBits } from './helpers/backend-models.ts';
import { tinyChatCandidates } from './helpers/tiny-chat-candidates.ts';

const backends = cpuBackends();
const synthetic = backendModels(4, 7);
const disposers: (() => void)[] = [];
afterAll(() => disposers.forEach((d) => d()));

// Different lengths, so rows are left-padded.
const prompts = [
  [5, 9, 13, 2, 7, 30],
  [3, 8],
  [11, 12, 40, 41],
];

describe.each(backends)('forward from block l on %s', (backendName) => {
  it.each([
    ['qwen2', 'f32'],
    ['qwen2', 'int8'],
    ['gpt2', 'f32'],
  ] as const)('%s %s: every layer, with addition at l and caches above, equals the full run bit for bit', async (family, precision) => {
    const model = await synthetic(backendName, family, precision);
    const L = model.config.nLayers;
    const base = await model.forward(prompts, { cache: ['blocks.*.hook_resid_pre'], logits: 'last' });
    const v = Float32Array.from({ length: model.config.dModel }, (_, i) => Math.sin(i) * 0.7);
    for (let l = 0; l < L; l++) {
      const hooks = [additionHook(v, l)];
      const above = [`blocks.${L - 1}.hook_resid_post`, `blocks.${l}.hook_resid_pre`];
      const full = await model.forward(prompts, { hooks, cache: above, logits: 'all' });
      const residual = base.cache.get(`blocks.${l}.hook_resid_pre`)!.data;
      const before = residual.slice();
      const from = await model.forward(prompts, { hooks, cache: above, logits: 'all', start: { layer: l, residual } });
      expect(sameBits(from.logits, full.logits), `layer ${l} logits`).toBe(true);
      for (const name of above) expect(sameBits(from.cache.get(name)!.data, full.cache.get(name)!.data), `layer ${l} ${name}`).toBe(true);
      expect(from.padding).toEqual(full.padding);
      // The given residual is not edited (the addition hook works in place on a copy).
      expect(sameBits(residual, before)).toBe(true);
    }
    // Block 0 from the embedding is the ordinary forward (llama family: blocks.0.hook_resid_pre = hook_embed).
    if (family === 'qwen2') {
      const emb = await model.forward(prompts, { cache: ['hook_embed'], logits: 'last' });
      const from0 = await model.forward(prompts, { logits: 'last', start: { layer: 0, residual: emb.cache.get('hook_embed')!.data } });
      expect(sameBits(from0.logits, base.logits)).toBe(true);
    }
  });

  it('lastLogitsFrom over a residual cache equals lastLogits from the embedding (length-sorted batches of 2)', async () => {
    const model = await synthetic(backendName, 'qwen2', 'int8');
    const many = [...prompts, [1, 2, 3, 4, 5, 6, 7, 8], [60], [33, 34, 35]];
    const { logits, cache } = await lastLogitsKeepingResiduals(model, many, [1, 3], { batchSize: 2 });
    expect(sameBits(logits, await lastLogits(model, many, { batchSize: 2 }))).toBe(true);
    const v = Float32Array.from({ length: model.config.dModel }, (_, i) => Math.cos(i));
    for (const l of [1, 3]) {
      const hooks = [additionHook(v, l)];
      expect(
        sameBits(await lastLogitsFrom(model, cache, l, { hooks }), await lastLogits(model, many, { batchSize: 2, hooks })),
        `layer ${l}`,
      ).toBe(true);
    }
    await expect(lastLogitsFrom(model, cache, 2)).rejects.toThrow(/holds layers 1, 3, not 2/);
  });
});

describe.skipIf(!(await webgpuAvailable()))('forward from block l resident on webgpu (SwiftShader in CI)', () => {
  it('qwen2 int8: every layer, with addition at l, equals the resident full run bit for bit', async () => {
    const model = await synthetic('webgpu', 'qwen2', 'int8');
    expect((model as unknown as { residentActive: boolean }).residentActive).toBe(true);
    const base = await model.forward(prompts, { cache: ['blocks.*.hook_resid_pre'], logits: 'last' });
    const v = Float32Array.from({ length: model.config.dModel }, (_, i) => Math.sin(i) * 0.7);
    for (let l = 0; l < model.config.nLayers; l++) {
      const hooks = [additionHook(v, l)];
      const full = await model.forward(prompts, { hooks, logits: 'last' });
      const residual = base.cache.get(`blocks.${l}.hook_resid_pre`)!.data;
      const from = await model.forward(prompts, { hooks, logits: 'last', start: { layer: l, residual } });
      expect(sameBits(from.logits, full.logits), `layer ${l}`).toBe(true);
    }
  });
});

describe('forward from block l refuses what it cannot run', () => {
  it('a layer outside the model, a residual of the wrong size, hooks or caches below the start', async () => {
    const model = await synthetic('reference', 'qwen2', 'f32');
    const base = await model.forward(prompts, { cache: ['blocks.2.hook_resid_pre'], logits: 'none' });
    const residual = base.cache.get('blocks.2.hook_resid_pre')!.data;
    const run = (o: Parameters<Model['forward']>[1]) => model.forward(prompts, o);
    await expect(run({ start: { layer: 4, residual } })).rejects.toThrow(UsageError);
    await expect(run({ start: { layer: 4, residual } })).rejects.toThrow(/start layer 4 is outside 0\.\.3/);
    await expect(run({ start: { layer: -1, residual } })).rejects.toThrow(/start layer -1/);
    await expect(run({ start: { layer: 2, residual: residual.subarray(1) } })).rejects.toThrow(
      /start residual for blocks\.2\.hook_resid_pre has 575 values, want 3x6x32/,
    );
    // Ablation at every layer is not an ablation when the blocks below ran without it: refused, not half done.
    const d = Float32Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0));
    await expect(run({ start: { layer: 2, residual }, hooks: ablationHooks(d) })).rejects.toThrow(
      /names blocks\.0\.hook_resid_pre, below the start layer 2/,
    );
    await expect(run({ start: { layer: 2, residual }, cache: ['hook_embed'] })).rejects.toThrow(
      /names hook_embed, below the start layer 2/,
    );
    await expect(run({ start: { layer: 2, residual }, cache: ['blocks.1.**'] })).rejects.toThrow(/names blocks\.1\.hook_resid_pre/);
    // Points at and above the start are fine.
    const ok = await run({ start: { layer: 2, residual }, cache: ['blocks.2.**', 'ln_final.hook_normalized'], logits: 'none' });
    expect(ok.cache.has('ln_final.hook_normalized') && ok.cache.has('blocks.2.hook_resid_post')).toBe(true);
  });
});

describe('candidate scoring with induce runs from cached residuals (tiny-chat)', () => {
  it('gives the same scores, bit for bit, as induce runs from the embedding', async () => {
    const { model, cands, hv, sv, refusal } = await tinyChatCandidates(6, [6, 10], [6, 11]);
    disposers.push(() => model.dispose());
    const o = { refusalIds: refusal, batchSize: 3, include: (pos: number) => pos >= -2 };
    const phases: string[] = [];
    const fast = await scoreCandidates(model, cands, hv, sv, { ...o, timer: { begin: (p) => (phases.push(p), () => {}) } });
    const slow = await scoreCandidates(model, cands, hv, sv, { ...o, induceFromResiduals: false });
    expect(fast.filter((s) => Number.isFinite(s.induce)).length).toBe(2 * (model.config.nLayers - 1));
    expect(fast).toEqual(slow);
    expect(new Set(phases)).toEqual(new Set(['score: base run', 'score: bypass (ablation)', 'score: induce', 'score: KL (ablation)']));
  });
});
