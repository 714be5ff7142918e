/**
 * A pass over many batches runs the prefix its prompts share once (models/shared-prefix.ts SharedPrefixCache,
 * analysis/model-runs.ts). The results must be the bits of the same batches run without the cache, and a kept prefix
 * must not be reused once anything it depends on has changed: a direction edited in place, a weight, the start rows,
 * the stop layer, other hook objects, the finite check.
 */
import { describe, expect, it } from 'vitest';
import { ablationHooks, additionHook } from '../analysis/interventions.ts';
import { lastLogits, lastLogitsFrom, lastLogitsKeepingResiduals, prefillPlan } from '../analysis/model-runs.ts';
import { SharedPrefixCache, prefixRows } from '../models/shared-prefix.ts';
import type { ForwardOptions, Model } from '../models/types.ts';
import { backendModels, cpuBackends, sameBits } from './helpers/backend-models.ts';

const synthetic = backendModels(3, 17);
const PREFIX = [5, 9, 13];

/** 14 prompts: PREFIX, then 2 to 7 tokens of their own; prompts 0-3 share two more tokens (a longer batch prefix). */
const prompts = Array.from({ length: 14 }, (_, i) => [
  ...PREFIX,
  ...(i < 4 ? [40, 41] : []),
  ...Array.from({ length: 2 + ((i * 5) % 6) }, (_, j) => (i * 7 + j * 3 + 1) % 64),
]);

/** The plan's batches run one forward each without a cache, logits back in prompt order (what lastLogits returns). */
async function uncached(model: Model, opts: (b: number) => ForwardOptions): Promise<Float32Array> {
  const v = model.config.vocabSize;
  const out = new Float32Array(prompts.length * v);
  let b = 0;
  for (const { indices, items } of prefillPlan(prompts, { batchSize: 4 })) {
    const res = await model.forward(items, { logits: 'last', ...opts(b++) });
    indices.forEach((i, row) => out.set(res.logits.subarray(row * v, (row + 1) * v), i * v));
  }
  return out;
}

describe.each(cpuBackends())('the prefix kept across batches on %s', (backendName) => {
  it.each([
    ['qwen2', 'int8'],
    ['qwen2', 'f32'],
    ['gpt2', 'int4'],
  ] as const)('%s %s: a pass with ablation hooks gives the bits of its batches run without it', async (family, precision) => {
    const model = await synthetic(backendName, family, precision);
    expect(prefillPlan(prompts, { batchSize: 4 }).length).toBeGreaterThanOrEqual(3);
    const r = Float32Array.from({ length: model.config.dModel }, (_, i) => Math.cos(i * 0.45));
    const hooks = ablationHooks(r);
    const got = await lastLogits(model, prompts, { hooks, batchSize: 4 });
    expect(sameBits(got, await uncached(model, () => ({ hooks })))).toBe(true);
  });

  it('runs the shared prefix once per pass; a batch that shares more, or is too small to split alone, takes the kept one', async () => {
    const model = await synthetic(backendName, 'qwen2', 'int8');
    const hooks = ablationHooks(Float32Array.from({ length: model.config.dModel }, (_, i) => Math.sin(i)));
    const cache = new SharedPrefixCache(PREFIX.length);
    const plan = prefillPlan(prompts, { batchSize: 4 });
    for (const { items } of plan) await model.forward(items, { hooks, logits: 'last', prefixCache: cache });
    expect(cache.runs).toBe(1);
    expect(cache.reuses).toBe(plan.length - 1);
    // Prompts 0-3 share 5 tokens; two prompts save too few rows to split on their own.
    const more = prompts.slice(0, 4);
    const two = prompts.slice(10, 12);
    expect([prefixRows(more), prefixRows(two)]).toEqual([PREFIX.length + 2, 0]);
    expect([prefixRows(more, [], cache), prefixRows(two, [], cache)]).toEqual([PREFIX.length, PREFIX.length]);
    for (const items of [more, two]) {
      const kept = await model.forward(items, { hooks, logits: 'last', prefixCache: cache });
      const fresh = await model.forward(items, { hooks, logits: 'last' });
      expect(sameBits(kept.logits, fresh.logits)).toBe(true);
    }
    expect([cache.runs, cache.reuses]).toEqual([1, plan.length + 1]);
  });

  it('induce from cached residuals: each layer gives the bits of its batches run without it', async () => {
    const model = await synthetic(backendName, 'qwen2', 'int8');
    const layers = [0, 1, 2];
    const { cache } = await lastLogitsKeepingResiduals(model, prompts, layers, { batchSize: 4 });
    const v = Float32Array.from({ length: model.config.dModel }, (_, i) => Math.sin(i * 0.3) * 0.8);
    for (const l of layers) {
      const hooks = [additionHook(v, l)];
      const got = await lastLogitsFrom(model, cache, l, { hooks });
      const want = await uncached(model, (b) => ({ hooks, start: { layer: l, residual: cache.residuals[b].get(l)! } }));
      expect(sameBits(got, want), `layer ${l}`).toBe(true);
    }
  });

  it('runs the prefix again when what it depends on changed, and then gives the bits of a fresh run', async () => {
    const model = await synthetic(backendName, 'qwen2', 'f32');
    const batch = prompts.slice(4, 10);
    const hooks = ablationHooks(Float32Array.from({ length: model.config.dModel }, (_, i) => (i % 3) - 1));
    const cache = new SharedPrefixCache();
    const run = async (opts: ForwardOptions = {}) => {
      const kept = await model.forward(batch, { hooks, logits: 'last', ...opts, prefixCache: cache });
      const fresh = await model.forward(batch, { hooks, logits: 'last', ...opts });
      expect(sameBits(kept.logits, fresh.logits)).toBe(true);
    };
    await run();
    await run();
    expect([cache.runs, cache.reuses]).toEqual([1, 1]);
    (hooks[0].op as { direction: Float32Array }).direction[3] += 0.5; // the direction edited in place (every hook shares it)
    await run();
    expect([cache.runs, cache.reuses]).toEqual([2, 1]);
    const norm = model.getNorm(0, 'attn');
    model.setNorm(0, 'attn', { w: norm.w.map((x, i) => x * (1 + i / 64)), b: norm.b }); // a weight edit
    await run();
    expect([cache.runs, cache.reuses]).toEqual([3, 1]);
    await run({ hooks: hooks.map((h) => ({ ...h })) }); // other hook objects, same numbers: not assumed the same
    await run({ checkFinite: false });
    expect([cache.runs, cache.reuses]).toEqual([5, 1]);
    // The stop layer: a prefix run to block 1 holds no keys for block 2.
    const early = [
      additionHook(
        Float32Array.from({ length: model.config.dModel }, (_, i) => i / 32),
        0,
      ),
    ];
    const stopAt = async (stopAtLayer: number) => {
      const opts: ForwardOptions = {
        hooks: early,
        logits: 'none',
        stopAtLayer,
        cache: [`blocks.${stopAtLayer - 1}.hook_resid_post`],
        cachePositions: [-1],
      };
      const name = `blocks.${stopAtLayer - 1}.hook_resid_post`;
      const kept = await model.forward(batch, { ...opts, prefixCache: cache });
      const fresh = await model.forward(batch, opts);
      expect(sameBits(kept.cache.get(name)!.data, fresh.cache.get(name)!.data), `stop ${stopAtLayer}`).toBe(true);
    };
    await stopAt(1);
    await stopAt(2);
    expect([cache.runs, cache.reuses]).toEqual([7, 1]);
  });

  it('start rows that differ (another layer, other numbers) run the prefix again', async () => {
    const model = await synthetic(backendName, 'qwen2', 'int8');
    const batch = prompts.slice(4, 10);
    const base = await model.forward(batch, { cache: ['blocks.*.hook_resid_pre'], logits: 'last' });
    const cache = new SharedPrefixCache();
    const v = Float32Array.from({ length: model.config.dModel }, (_, i) => Math.cos(i) * 0.5);
    const hooks = [additionHook(v, 2)];
    const from = async (layer: number, residual: Float32Array) => {
      const kept = await model.forward(batch, { hooks, logits: 'last', start: { layer, residual }, prefixCache: cache });
      const fresh = await model.forward(batch, { hooks, logits: 'last', start: { layer, residual } });
      expect(sameBits(kept.logits, fresh.logits)).toBe(true);
    };
    const at1 = base.cache.get('blocks.1.hook_resid_pre')!.data;
    await from(1, at1);
    await from(1, at1.slice());
    expect([cache.runs, cache.reuses]).toEqual([1, 1]);
    await from(2, base.cache.get('blocks.2.hook_resid_pre')!.data);
    const edited = at1.slice();
    const pad = base.padding[0];
    edited[(pad + 1) * model.config.dModel + 4] += 1; // a prefix row of the first prompt
    await from(1, edited);
    expect([cache.runs, cache.reuses]).toEqual([3, 1]);
  });
});
