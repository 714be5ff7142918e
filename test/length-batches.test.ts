/**
 * Length-sorted batching: the plan is a permutation in batches of at most `size`, shortest first; and the runs
 * that use it (last-position logits, difference-in-means sums) give the results of list-order batches bit for bit,
 * computed here directly with model.forward over unsorted chunks (the code before sorting).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { accumulateMeans } from '../analysis/direction/candidate-directions.ts';
import { MeanAccumulator } from '../analysis/direction/diff-means.ts';
import { lengthBatches } from '../analysis/batches.ts';
import { encodeInstructions, lastLogits } from '../analysis/model-runs.ts';
import { generateCompletions } from '../analysis/eval/evaluate.ts';
import { loadPrompts } from '../analysis/prompts/prompts.ts';
import { loadModel } from '../models/load.ts';
import path from 'node:path';
import { projectRoot } from './helpers/shared.ts';
import { ablationHooks } from '../analysis/interventions.ts';
import { UsageError } from '../engine/errors.ts';
import { createBackend, wasmSimdPresent } from '../kernels/select.ts';
import type { BackendName } from '../kernels/types.ts';
import { DecoderModel } from '../models/decoder-model.ts';
import { syntheticConfig, syntheticProvider } from '../models/synthetic.ts';
import type { Hook, Model } from '../models/types.ts';

describe('lengthBatches', () => {
  it('is a permutation into batches of at most size prompts and maxTokens padded tokens past the shared ones, sorted by length', () => {
    const budget = fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 40 }));
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 7 }),
        budget,
        fc.integer({ min: 0, max: 3 }),
        (own, size, tokens, shared) => {
          // Every item starts with `shared` tokens the budget does not count.
          const lens = own.map((n) => n + shared);
          const items = lens.map((n) => Array.from({ length: n }, () => 0));
          const plan = lengthBatches(items, size, tokens, shared);
          const order = plan.flatMap((b) => b.indices);
          expect([...order].sort((a, b) => a - b)).toEqual(lens.map((_, i) => i));
          expect(plan.every((b) => b.items.length >= 1 && b.items.length <= size)).toBe(true);
          // A batch over the budget holds one prompt (a longer prompt than the budget still runs).
          for (const b of plan)
            expect(b.items.length === 1 || b.items.length * (Math.max(...b.items.map((x) => x.length)) - shared) <= tokens).toBe(true);
          // Greedy: a batch closed early would have overflowed with the next prompt.
          for (let k = 0; k + 1 < plan.length; k++) {
            const n = plan[k].items.length + 1;
            expect(n > size || n * (plan[k + 1].items[0].length - shared) > tokens).toBe(true);
          }
          if (tokens === Infinity) expect(plan.length).toBe(Math.ceil(lens.length / size));
          for (let k = 1; k < order.length; k++) {
            const [a, b] = [order[k - 1], order[k]];
            expect(lens[a] < lens[b] || (lens[a] === lens[b] && a < b)).toBe(true);
          }
          plan.forEach((b) => b.indices.forEach((i, j) => expect(b.items[j]).toBe(items[i])));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a batch size that is not a positive integer', () => {
    expect(() => lengthBatches([[1]], 0)).toThrow(UsageError);
    expect(() => lengthBatches([[1]], 1.5)).toThrow(/batch size must be a positive integer, got 1.5/);
    expect(() => lengthBatches([[1]], 2, 0)).toThrow(/tokens per batch must be at least 1, got 0/);
  });
});

const backends: BackendName[] = wasmSimdPresent() ? ['reference', 'wasm-simd'] : ['reference'];
const disposers: (() => void)[] = [];
afterAll(() => disposers.forEach((d) => d()));

// Lengths 1..12 in a scrambled order: list-order batches of 3 pad a lot, sorted ones little.
const prompts = [7, 2, 12, 1, 9, 4, 11, 3, 8, 5, 10, 6].map((n, i) => Array.from({ length: n }, (_, j) => (i * 7 + j * 3) % 50));

describe.each(backends)('length-sorted runs equal list-order runs on %s', (name) => {
  let model: Model;
  const build = async () => {
    const backend = await createBackend(name);
    disposers.push(() => backend.dispose());
    const cfg = syntheticConfig({ family: 'qwen2', nLayers: 3, dModel: 32, nHeads: 4, nKvHeads: 2, dMlp: 48, vocabSize: 50 });
    model = new DecoderModel(syntheticProvider(cfg, 3), { backend, precision: 'int8' });
  };

  it('last-position logits, with and without hooks', async () => {
    await build();
    const V = model.config.vocabSize;
    const d = Float32Array.from({ length: 32 }, (_, i) => Math.sin(i + 1));
    for (const hooks of [[], ablationHooks(d)] as Hook[][]) {
      const want = new Float32Array(prompts.length * V);
      for (let s = 0; s < prompts.length; s += 3) {
        const r = await model.forward(prompts.slice(s, s + 3), { hooks, logits: 'last' });
        want.set(r.logits, s * V);
      }
      const got = await lastLogits(model, prompts, { batchSize: 3, hooks });
      expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
    }
  });

  it('difference-in-means sums (float64, added in list order)', async () => {
    const { nLayers, dModel } = model.config;
    const nPos = 1;
    const want = new MeanAccumulator(nPos, nLayers, dModel);
    for (let s = 0; s < prompts.length; s += 3) {
      const items = prompts.slice(s, s + 3);
      const r = await model.forward(items, { cache: ['blocks.*.hook_resid_pre'], cachePositions: [-1], logits: 'none' });
      for (let l = 0; l < nLayers; l++) want.addLayer(l, r.cache.get(`blocks.${l}.hook_resid_pre`)!.data, items.length);
      want.addCount(items.length);
    }
    const got = await accumulateMeans(model, prompts, nPos, { batchSize: 3 });
    expect(got.count).toBe(prompts.length);
    expect(Buffer.from(got.sums.buffer).equals(Buffer.from(want.sums.buffer))).toBe(true);
  });
});

describe('greedy completions in length-sorted batches (tiny-chat)', () => {
  it('equal the completions of list-order batches, in list order', async () => {
    const model = await loadModel(path.join(projectRoot, 'models/tiny-chat'));
    disposers.push(() => model.dispose());
    const items = loadPrompts(path.join(projectRoot, 'data/prompts/harmful.json')).slice(0, 7);
    const ids = encodeInstructions(
      model,
      items.map((p) => p.instruction),
    );
    expect(new Set(ids.map((p) => p.length)).size).toBeGreaterThan(2);
    const want: string[] = [];
    for (let s = 0; s < ids.length; s += 3) {
      const res = await model.generate(ids.slice(s, s + 3), { maxNewTokens: 12, temperature: 0 });
      for (const t of res.tokens) want.push(model.tokenizer!.decode(t, { skipSpecialTokens: true }).trim());
    }
    expect(await generateCompletions(model, items, { batchSize: 3, maxNewTokens: 12 })).toEqual(want);
  });
});
