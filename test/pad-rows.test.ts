/**
 * The MLP skips left-padding rows where the caller sees none of them (models/pad-rows.ts). What the caller receives
 * must be bit for bit the whole batch's: last logits and caches at end positions, with ablation hooks, on every CPU
 * backend here, both families, f32 and int8, in forward and in generate. The reference run is the same call with
 * logits 'all', which never skips. A declared-op hook at hook_mlp_out watches the padding rows: zero when skipped.
 */
import { describe, expect, it } from 'vitest';
import { ablationHooks } from '../analysis/interventions.ts';
import { lastRowsOf, liveRowsOf } from '../models/pad-rows.ts';
import type { Hook, HookContext } from '../models/types.ts';
import { backendModels, cpuBackends, sameBits } from './helpers/backend-models.ts';

const backends = cpuBackends();
const synthetic = backendModels(3, 13);

// No shared prefix (the first tokens differ), lengths 2..7: every batch is left-padded.
const prompts = Array.from({ length: 6 }, (_, i) => Array.from({ length: 2 + i }, (_, j) => (i * 11 + j * 3 + 1) % 64));

/** Whether any padding row of hook_mlp_out was nonzero, per call (rows from the hook's positions: -1 at padding). */
function padWatch(into: boolean[]): Hook {
  const d = 32;
  return {
    name: 'blocks.1.hook_mlp_out',
    op: { kind: 'addVector', vector: new Float32Array(d), coeff: 0, promptOnly: false },
    fn: (a: Float32Array, c: HookContext) => {
      let nonzero = false;
      for (let r = 0; r < c.positions.length; r++) if (c.positions[r] < 0) for (let i = 0; i < d; i++) nonzero ||= a[r * d + i] !== 0;
      into.push(nonzero);
    },
  };
}

/** Per call, the rows of the final block's hook_mlp_out (3 blocks: blocks.2) that were nonzero. */
function finalWatch(into: number[][]): Hook {
  const d = 32;
  return {
    name: 'blocks.2.hook_mlp_out',
    op: { kind: 'addVector', vector: new Float32Array(d), coeff: 0, promptOnly: false },
    fn: (a: Float32Array) => {
      const rows: number[] = [];
      for (let r = 0; r < a.length / d; r++) if (a.subarray(r * d, (r + 1) * d).some((v) => v !== 0)) rows.push(r);
      into.push(rows);
    },
  };
}

describe('live rows', () => {
  it('lists the rows that hold a token, or null without padding', () => {
    expect(liveRowsOf([Uint8Array.of(0, 1, 1), Uint8Array.of(1, 1, 1)], 3)).toEqual(Int32Array.of(1, 2, 3, 4, 5));
    expect(liveRowsOf([Uint8Array.of(1, 1), Uint8Array.of(1, 1)], 2)).toBeNull();
  });

  it('keeps the last row of each sequence in the final block, the last two of a batch of one', () => {
    expect(lastRowsOf(3, 4)).toEqual(Int32Array.of(3, 7, 11));
    expect(lastRowsOf(1, 5)).toEqual(Int32Array.of(3, 4));
    expect(lastRowsOf(1, 2)).toBeNull();
    expect(lastRowsOf(4, 1)).toBeNull();
  });
});

describe.each(backends)('the MLP skips padding rows on %s', (backendName) => {
  it.each([
    ['qwen2', 'f32'],
    ['qwen2', 'int8'],
    ['gpt2', 'f32'],
  ] as const)('%s %s: last logits and cached end positions equal the whole batch', async (family, precision) => {
    const model = await synthetic(backendName, family, precision);
    const r = Float32Array.from({ length: model.config.dModel }, (_, i) => Math.cos(i * 0.9));
    const pads: boolean[] = [];
    const hooks = [...ablationHooks(r), padWatch(pads)];
    const cache = ['blocks.*.hook_resid_post', 'blocks.1.ln2.hook_normalized'];
    const cachePositions = [-1, -2];
    const skip = await model.forward(prompts, { hooks, cache, cachePositions, logits: 'last' });
    expect(pads, 'padding rows skipped').toEqual([false]);
    const whole = await model.forward(prompts, { hooks, cache, cachePositions, logits: 'all' });
    expect(pads[1], 'padding rows computed').toBe(true);
    const v = model.config.vocabSize;
    const t = whole.logitsShape[1];
    const last = new Float32Array(prompts.length * v);
    for (let b = 0; b < prompts.length; b++) last.set(whole.logits.subarray(((b + 1) * t - 1) * v, (b + 1) * t * v), b * v);
    expect(sameBits(skip.logits, last)).toBe(true);
    for (const [name, act] of whole.cache) expect(sameBits(skip.cache.get(name)!.data, act.data), name).toBe(true);
  });

  it.each([
    ['qwen2', 'f32'],
    ['qwen2', 'int8'],
    ['gpt2', 'f32'],
  ] as const)(
    '%s %s: the final block MLP runs on last rows only; last logits and position -1 caches equal those of every row',
    async (family, precision) => {
      const model = await synthetic(backendName, family, precision);
      const r = Float32Array.from({ length: model.config.dModel }, (_, i) => Math.cos(i * 0.7));
      const cache = ['blocks.*.hook_resid_post', 'ln_final.hook_normalized'];
      for (const batch of [prompts, [prompts[5]]]) {
        const seen: number[][] = [];
        const hooks = [...ablationHooks(r), finalWatch(seen)];
        const skip = await model.forward(batch, { hooks, cache, cachePositions: [-1], logits: 'last' });
        // The reference keeps every final row: a cache there at position -2 too. (Not logits 'all': a batch of one's
        // last logits take the decode matvec, which sums in another order on wasm-simd f32; the test above holds
        // 'last' to 'all' where the batch has several rows.)
        const whole = await model.forward(batch, { hooks, cache, cachePositions: [-2, -1], logits: 'last' });
        const t = Math.max(...batch.map((q) => q.length));
        // a batch of one keeps its last two rows (lastRowsOf)
        expect(seen[0]).toEqual(batch.length === 1 ? [t - 2, t - 1] : batch.map((_, b) => (b + 1) * t - 1));
        expect(seen[1].length).toBeGreaterThan(batch.length + 1);
        expect(sameBits(skip.logits, whole.logits), `batch ${batch.length}`).toBe(true);
        for (const [name, act] of whole.cache) {
          const d = act.shape[2];
          const atLast = new Float32Array(batch.length * d);
          for (let b = 0; b < batch.length; b++) atLast.set(act.data.subarray((2 * b + 1) * d, (2 * b + 2) * d), b * d);
          expect(sameBits(skip.cache.get(name)!.data, atLast), name).toBe(true);
        }
      }
      // a cache after the final MLP at another position keeps every row of it
      const seen: number[][] = [];
      await model.forward(prompts, {
        hooks: [finalWatch(seen)],
        cache: ['ln_final.hook_normalized'],
        cachePositions: [-1, -2],
        logits: 'last',
      });
      const t = Math.max(...prompts.map((q) => q.length));
      expect(seen[0]).toContain(t - 2);
    },
  );

  it('generate gives the same tokens; a cached position past the shortest prompt, or a hook inside the MLP, keeps every row', async () => {
    const model = await synthetic(backendName, 'qwen2', 'int8');
    const r = Float32Array.from({ length: model.config.dModel }, (_, i) => Math.sin(i * 0.4));
    const pads: boolean[] = [];
    const hooks = [...ablationHooks(r), padWatch(pads)];
    const js: Hook = { name: 'blocks.2.hook_resid_pre', fn: () => undefined }; // no declared op: nothing skipped
    const a = await model.generate(prompts, { hooks, maxNewTokens: 5, temperature: 1, seed: 3 });
    expect(pads[0]).toBe(false);
    pads.length = 0;
    const b = await model.generate(prompts, { hooks: [...hooks, js], maxNewTokens: 5, temperature: 1, seed: 3 });
    expect(pads[0]).toBe(true);
    expect(a.tokens).toEqual(b.tokens);
    pads.length = 0;
    await model.forward(prompts, { hooks, cache: ['blocks.0.hook_resid_post'], cachePositions: [-3], logits: 'last' });
    const inside: Hook = { ...ablationHooks(new Float32Array(48).fill(0.1))[0], name: 'blocks.1.mlp.hook_post' };
    await model.forward(prompts, { hooks: [...hooks, inside], logits: 'last' });
    expect(pads).toEqual([true, true]);
  });
});
