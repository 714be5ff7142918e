/** Generation: tiny-chat's golden greedy completions (batched, left-padded), sampling, stops, streaming, abort. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, InterruptedError } from '../engine/errors.ts';
import { createReferenceBackend } from '../kernels/reference/backend.ts';
import { loadModel } from '../models/load.ts';
import { argmax, makeRng, sampleToken } from '../models/sampler.ts';
import { projectRoot } from './helpers/shared.ts';
import { smallModel } from './helpers/synthetic-model.ts';

describe('tiny-chat greedy completions equal the golden ones', () => {
  it('8 prompts in one left-padded batch, 48 new tokens, stop at <|end|>', async () => {
    const dir = path.join(projectRoot, 'models/tiny-chat');
    const model = await loadModel(dir, { backend: createReferenceBackend() });
    const golden = JSON.parse(readFileSync(path.join(dir, 'golden/prompts.json'), 'utf8')) as {
      input_ids: number[];
      greedy_completion_ids: number[];
      instruction: string;
    }[];
    expect(model.tokenizer!.encodeChat(golden[0].instruction)).toEqual(golden[0].input_ids);
    const g = await model.generate(
      golden.map((p) => p.input_ids),
      { maxNewTokens: 48 },
    );
    expect(g.tokens).toEqual(golden.map((p) => p.greedy_completion_ids));
    golden.forEach((p, i) => expect(g.finish[i]).toBe(p.greedy_completion_ids.length < 48 ? 'stop' : 'length'));
    expect(g.tokensPerSecond).toBeGreaterThan(0);
  });
});

describe('sampling', () => {
  const model = smallModel('llama');
  const prompts = [[1, 2, 3], [9]];

  it('is reproducible for a seed, and top-k 1 / tiny top-p reduce to greedy', async () => {
    const opts = { maxNewTokens: 8, temperature: 1.5, seed: 42, stopTokens: [] };
    const a = await model.generate(prompts, opts);
    expect((await model.generate(prompts, opts)).tokens).toEqual(a.tokens);
    const seeds = await Promise.all([1, 2, 3, 4].map((seed) => model.generate(prompts, { ...opts, seed })));
    expect(new Set(seeds.map((s) => JSON.stringify(s.tokens))).size).toBeGreaterThan(1);
    const greedy = await model.generate(prompts, { maxNewTokens: 8, stopTokens: [] });
    expect((await model.generate(prompts, { ...opts, topK: 1 })).tokens).toEqual(greedy.tokens);
    expect((await model.generate(prompts, { ...opts, topP: 1e-6 })).tokens).toEqual(greedy.tokens);
  });

  it('sampleToken follows the tempered distribution and respects top-k', () => {
    const logits = Float32Array.from([0, Math.log(3), -50, Math.log(6)]);
    const rng = makeRng(5);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[sampleToken(logits, { temperature: 1 }, rng)]++;
    // p = [0.1, 0.3, ~0, 0.6]: 4000 draws give a binomial sd of at most ~31.
    expect(Math.abs(counts[3] - 2400)).toBeLessThan(150);
    expect(Math.abs(counts[0] - 400)).toBeLessThan(150);
    expect(counts[2]).toBe(0);
    for (let i = 0; i < 200; i++) expect([1, 3]).toContain(sampleToken(logits, { temperature: 1, topK: 2 }, rng));
    expect(argmax(logits)).toBe(3);
  });
});

describe('stops, streaming, abort, limits', () => {
  const model = smallModel('qwen2');
  const prompts = [[1, 2, 3], [9]];

  it('stop tokens end a row (excluded) while others go on; onToken streams -1 for finished rows', async () => {
    const free = await model.generate(prompts, { maxNewTokens: 6, stopTokens: [] });
    const stopAt = free.tokens[0][2];
    const first = free.tokens[0].indexOf(stopAt);
    const streamed: number[][] = [];
    const g = await model.generate(prompts, { maxNewTokens: 6, stopTokens: [stopAt], onToken: (t) => streamed.push(t) });
    expect(g.tokens[0]).toEqual(free.tokens[0].slice(0, first));
    expect(g.finish[0]).toBe('stop');
    expect(streamed[first][0]).toBe(-1);
    for (let s = 0; s < streamed.length; s++) if (s > first) expect(streamed[s][0]).toBe(-1);
    if (!free.tokens[1].includes(stopAt)) {
      expect(g.tokens[1]).toEqual(free.tokens[1]);
      expect(g.finish[1]).toBe('length');
    }
  });

  it('an AbortSignal stops between steps with InterruptedError', async () => {
    const ac = new AbortController();
    await expect(
      model.generate(prompts, {
        maxNewTokens: 10,
        stopTokens: [],
        signal: ac.signal,
        onToken: (_t, step) => {
          if (step === 2) ac.abort();
        },
      }),
    ).rejects.toThrow(InterruptedError);
  });

  it('a sliding window shorter than the context is refused (not implemented)', async () => {
    const m = smallModel('mistral');
    (m.config as { slidingWindow: number | null }).slidingWindow = 4;
    await expect(m.forward([[1, 2, 3, 4, 5]])).rejects.toThrow(ConfigError);
    await expect(m.generate([[1, 2, 3]], { maxNewTokens: 3 })).rejects.toThrow(/sliding_window 4/);
    await expect(m.forward([[1, 2, 3, 4]])).resolves.toBeDefined();
  });
});

describe('sampleToken against a plain full-sort implementation', () => {
  /** The textbook version: sort everything, cut top-k, cut top-p over the renormalized mass, draw. */
  function naive(logits: Float32Array, temp: number, topK: number, topP: number, u: number): number {
    let idx = Array.from(logits.keys())
      .sort((a, b) => logits[b] - logits[a])
      .slice(0, topK);
    const max = logits[idx[0]];
    let p = idx.map((i) => Math.exp((logits[i] - max) / temp));
    const sum = p.reduce((a, b) => a + b, 0);
    let acc = 0;
    let keep = 0;
    while (keep < p.length && acc < topP * sum) acc += p[keep++];
    idx = idx.slice(0, Math.max(1, keep));
    p = p.slice(0, idx.length);
    let r = u * p.reduce((a, b) => a + b, 0);
    for (let j = 0; j < idx.length; j++) {
      r -= p[j];
      if (r < 0) return idx[j];
    }
    return idx[idx.length - 1];
  }

  it('induces the same distribution (uniform numbers swept over a grid)', async () => {
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -40, max: 40, noNaN: true }), { minLength: 2, maxLength: 60 }),
        fc.double({ min: 0.05, max: 3, noNaN: true }),
        fc.integer({ min: 1, max: 70 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (arr, temp, topK, topP, u) => {
          const logits = Float32Array.from(arr);
          // Token order within the draw may differ (ties, unsorted full draws): compare frequencies.
          const G = 400;
          const mine = new Float64Array(logits.length);
          const ref = new Float64Array(logits.length);
          for (let g = 0; g < G; g++) {
            const v = (g + u) / G;
            mine[sampleToken(logits, { temperature: temp, topK, topP }, () => v)]++;
            ref[naive(logits, temp, Math.min(topK, logits.length), topP, v)]++;
          }
          for (let i = 0; i < logits.length; i++) expect(Math.abs(mine[i] - ref[i])).toBeLessThanOrEqual(2);
        },
      ),
      { numRuns: 60 },
    );
  });
});
