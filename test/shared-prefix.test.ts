/**
 * A prefix every prompt shares runs once (models/shared-prefix.ts). Its results must be bit for bit those of the
 * whole batch run at once. The check runs on every CPU backend here, for both families and each weight format, with
 * ablation hooks, with an addition hook started from a cached residual, at several prefix lengths, and in generate.
 * The whole-batch run is the same call with logits 'all' (or, in generate, with a JS hook), which never splits.
 * Each case also checks that the split really happened (a hook saw the one-row prefix call), and that calls a split
 * would change (a JS hook, all positions cached, a pattern hook) do not split.
 */
import { describe, expect, it } from 'vitest';
import { ablationHooks, additionHook } from '../analysis/interventions.ts';
import { MIN_SHARED_ROWS, prefixRows, sharedPrefixLength } from '../models/shared-prefix.ts';
import type { Hook } from '../models/types.ts';
import { backendModels, cpuBackends, sameBits } from './helpers/backend-models.ts';

const backends = cpuBackends();
const synthetic = backendModels(3, 11);

/** 10 prompts starting with `prefix`, `own` to `own` + 5 tokens of their own (so rows are left-padded). */
function promptsWith(prefix: number[], own = 2): number[][] {
  return Array.from({ length: 10 }, (_, i) => [
    ...prefix,
    ...Array.from({ length: own + ((i * 5) % 6) }, (_, j) => (i * 7 + j * 5 + 3) % 64),
  ]);
}

/** The hooks with their batch sizes recorded (the op stays declared, so the split is still allowed). */
function watched(hooks: Hook[], seen: number[]): Hook[] {
  return hooks.map((h) => ({ ...h, fn: (a, c) => (seen.push(c.batch), h.fn(a, c)) }));
}

/** Last position of each row of [batch, T, V] logits. */
function lastRows(logits: Float32Array, batch: number, v: number): Float32Array {
  const t = logits.length / (batch * v);
  const out = new Float32Array(batch * v);
  for (let b = 0; b < batch; b++) out.set(logits.subarray(((b + 1) * t - 1) * v, (b + 1) * t * v), b * v);
  return out;
}

describe('the shared prefix length', () => {
  it('is the longest common start that leaves every prompt a token', () => {
    expect(
      sharedPrefixLength([
        [1, 2, 3],
        [1, 2, 4],
        [1, 2],
      ]),
    ).toBe(1);
    expect(
      sharedPrefixLength([
        [1, 2, 3, 9],
        [1, 2, 3, 8, 7],
      ]),
    ).toBe(3);
    expect(
      sharedPrefixLength([
        [1, 2],
        [1, 2],
      ]),
    ).toBe(1);
    expect(sharedPrefixLength([[5], [5, 6]])).toBe(0);
    expect(
      sharedPrefixLength([
        [1, 2],
        [2, 2],
      ]),
    ).toBe(0);
  });
  it(`splits only a prefix of 2 or more tokens that saves ${MIN_SHARED_ROWS} rows, before every cached end position`, () => {
    const five = Array.from({ length: 5 }, (_, i) => [1, 2, i + 3, 7]);
    expect(prefixRows(five)).toBe(2);
    expect(prefixRows(five.slice(0, 4))).toBe(0);
    expect(prefixRows(five, [-2])).toBe(2);
    expect(prefixRows(five, [-1, -3])).toBe(0); // the prefix would shrink to 1 token
    expect(prefixRows(Array.from({ length: 20 }, (_, i) => [1, i + 2]))).toBe(0);
    expect(prefixRows([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]])).toBe(0);
  });
});

describe.each(backends)('a shared prefix run once on %s', (backendName) => {
  it.each([
    ['qwen2', 'f32', 2],
    ['qwen2', 'f32', 4],
    ['qwen2', 'int8', 3],
    ['qwen2', 'int4', 2],
    ['qwen2', 'bf16', 3],
    ['gpt2', 'f32', 3],
    ['gpt2', 'int8', 5],
  ] as const)(
    '%s %s, prefix of %i: ablation hooks, last logits and cached end positions equal the whole-batch run',
    async (family, precision, p) => {
      const model = await synthetic(backendName, family, precision);
      const prompts = promptsWith(Array.from({ length: p }, (_, i) => (i * 13 + 1) % 64));
      const r = Float32Array.from({ length: model.config.dModel }, (_, i) => Math.cos(i * 0.3));
      const seen: number[] = [];
      const cache = ['blocks.*.hook_resid_pre', 'ln_final.hook_normalized'];
      const cachePositions = [-1, -2];
      const hooks = watched(ablationHooks(r), seen);
      const split = await model.forward(prompts, { hooks, cache, cachePositions, logits: 'last' });
      expect(seen, 'the prefix ran as a call of its own').toContain(1);
      seen.length = 0;
      const whole = await model.forward(prompts, { hooks, cache, cachePositions, logits: 'all' });
      expect(seen).not.toContain(1);
      const v = model.config.vocabSize;
      expect(sameBits(split.logits, lastRows(whole.logits, prompts.length, v)), 'logits').toBe(true);
      expect(split.logitsShape).toEqual([prompts.length, 1, v]);
      expect(split.padding).toEqual(whole.padding);
      expect([...split.cache.keys()].sort()).toEqual([...whole.cache.keys()].sort());
      // Every prompt has at least 2 tokens of its own, so positions -1 and -2 lie after the prefix in every row.
      for (const [name, act] of whole.cache) {
        expect(split.cache.get(name)!.shape, name).toEqual(act.shape);
        expect(sameBits(split.cache.get(name)!.data, act.data), name).toBe(true);
      }
    },
  );

  it('an addition started from a cached residual (the induce run) equals the whole-batch run', async () => {
    const model = await synthetic(backendName, 'qwen2', 'int8');
    const prompts = promptsWith([7, 8, 9]);
    const base = await model.forward(prompts, { cache: ['blocks.*.hook_resid_pre'], logits: 'last' });
    const v = Float32Array.from({ length: model.config.dModel }, (_, i) => Math.sin(i) * 0.7);
    for (let l = 0; l < model.config.nLayers; l++) {
      const seen: number[] = [];
      const hooks = watched([additionHook(v, l)], seen);
      const start = { layer: l, residual: base.cache.get(`blocks.${l}.hook_resid_pre`)!.data };
      const split = await model.forward(prompts, { hooks, logits: 'last', start });
      expect(seen).toContain(1);
      const whole = await model.forward(prompts, { hooks, logits: 'all', start });
      expect(sameBits(split.logits, lastRows(whole.logits, prompts.length, model.config.vocabSize)), `layer ${l}`).toBe(true);
    }
  });

  it('generate: the prompt step with the prefix run once gives the same tokens, greedy and sampled', async () => {
    const model = await synthetic(backendName, 'qwen2', 'int8');
    const prompts = promptsWith([4, 5, 6, 7]);
    const r = Float32Array.from({ length: model.config.dModel }, (_, i) => Math.cos(i * 0.7));
    const v = Float32Array.from({ length: model.config.dModel }, (_, i) => Math.sin(i * 0.2));
    const seen: number[] = [];
    const hooks = watched([...ablationHooks(r), additionHook(v, 1)], seen);
    // A JS hook (no declared op) keeps the whole batch: the reference run.
    const whole: Hook = { name: 'blocks.0.hook_resid_pre', fn: () => undefined };
    for (const sampling of [{}, { temperature: 1, seed: 5 }]) {
      seen.length = 0;
      const split = await model.generate(prompts, { hooks, maxNewTokens: 6, ...sampling });
      expect(seen).toContain(1);
      seen.length = 0;
      const ref = await model.generate(prompts, { hooks: [...hooks, whole], maxNewTokens: 6, ...sampling });
      expect(seen).not.toContain(1);
      expect(split.tokens).toEqual(ref.tokens);
      expect(split.finish).toEqual(ref.finish);
    }
  });

  it('does not split where the caller could tell: a JS hook, every position cached, a pattern hook, a cached end position in the prefix', async () => {
    const model = await synthetic(backendName, 'qwen2', 'f32');
    const prompts = promptsWith([1, 2, 3]);
    const seen: number[] = [];
    const js: Hook = { name: 'blocks.0.hook_resid_pre', fn: (_a, c) => void seen.push(c.batch) };
    await model.forward(prompts, { hooks: [js], logits: 'last' });
    expect(seen).toEqual([prompts.length]);
    const r = Float32Array.from({ length: model.config.dModel }, (_, i) => (i === 3 ? 1 : 0));
    seen.length = 0;
    const all = await model.forward(prompts, {
      hooks: watched(ablationHooks(r), seen),
      cache: ['blocks.1.hook_resid_pre'],
      logits: 'last',
    });
    expect(seen).not.toContain(1);
    expect(all.cache.get('blocks.1.hook_resid_pre')!.shape[1]).toBe(3 + 7);
    // A hook at hook_pattern (declared op or not) sees [batch, heads, T, S] whole.
    seen.length = 0;
    const atPattern: Hook = {
      name: 'blocks.0.attn.hook_pattern',
      op: { kind: 'addVector', vector: new Float32Array(1), coeff: 0, promptOnly: false },
      fn: (_a, c) => void seen.push(c.batch),
    };
    await model.forward(prompts, { hooks: [atPattern], logits: 'last' });
    expect(seen).toEqual([prompts.length]);
    // One prompt has a single token of its own: the prefix shrinks so that position -2 stays after it (3 -> 2 tokens),
    // and a cached position -4 leaves no prefix to split.
    const short = promptsWith([1, 2, 3], 1);
    for (const [at, splits] of [
      [-2, true],
      [-4, false],
    ] as const) {
      seen.length = 0;
      const opts = { hooks: watched(ablationHooks(r), seen), cache: ['blocks.2.hook_resid_pre'], cachePositions: [at] };
      const a = await model.forward(short, { ...opts, logits: 'last' });
      expect(seen.includes(1), `position ${at}`).toBe(splits);
      const b = await model.forward(short, { ...opts, logits: 'all' });
      expect(sameBits(a.cache.get('blocks.2.hook_resid_pre')!.data, b.cache.get('blocks.2.hook_resid_pre')!.data)).toBe(true);
    }
  });
});
