/**
 * Properties of the forward pass on small seeded random models (reference backend, so exact f64-accumulated
 * kernels): batching with left padding, KV-cached decoding vs full recompute, identity hooks, pattern edits.
 * Tolerance 1e-5: both sides run the same f32 kernels; differences come only from attention summing over a
 * different number of (masked, zero-weight) slots and from f32 rounding of activations near |x| ~ 10.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Model } from '../models/types.ts';
import { maxAbsDiff, smallModel } from './helpers/synthetic-model.ts';

const TOL = 1e-5;
const families = ['llama', 'qwen2', 'gpt2'] as const;
const prompt = (vocab: number) => fc.array(fc.integer({ min: 0, max: vocab - 1 }), { minLength: 1, maxLength: 7 });

/** Logits of row b at its real positions (strip the left padding). */
async function rowLogits(m: Model, prompts: number[][]): Promise<Float32Array[]> {
  const r = await m.forward(prompts);
  const [, T, V] = r.logitsShape;
  return prompts.map((p, b) => r.logits.slice((b * T + r.padding[b]) * V, (b + 1) * T * V));
}

describe.each(families)('%s forward properties', (family) => {
  const model = smallModel(family);
  const V = model.config.vocabSize;

  it('a left-padded batch gives the same logits as each prompt alone', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(prompt(V), { minLength: 2, maxLength: 3 }), async (prompts) => {
        const batched = await rowLogits(model, prompts);
        for (let b = 0; b < prompts.length; b++) {
          const [alone] = await rowLogits(model, [prompts[b]]);
          expect(maxAbsDiff(batched[b], alone)).toBeLessThan(TOL);
        }
      }),
      { numRuns: 8 },
    );
  });

  it('KV-cached generation sees the same final-norm activations as a full recompute', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(prompt(V), { minLength: 1, maxLength: 2 }), fc.integer({ min: 1, max: 4 }), async (prompts, n) => {
        const seen: Float32Array[][] = prompts.map(() => []);
        const steps: number[] = [];
        const g = await model.generate(prompts, {
          maxNewTokens: n,
          stopTokens: [],
          hooks: [
            {
              name: 'ln_final.hook_normalized',
              fn: (act, ctx) => {
                steps.push(ctx.step);
                const d = ctx.width;
                for (let b = 0; b < ctx.batch; b++)
                  for (let p = 0; p < ctx.pos; p++)
                    if (ctx.positions[b * ctx.pos + p] >= 0) seen[b].push(act.slice((b * ctx.pos + p) * d, (b * ctx.pos + p + 1) * d));
              },
            },
          ],
        });
        expect(steps).toEqual(Array.from({ length: n }, (_, i) => i));
        for (let b = 0; b < prompts.length; b++) {
          const full = [...prompts[b], ...g.tokens[b]].slice(0, prompts[b].length + n - 1);
          const r = await model.forward([full], { cache: ['ln_final.hook_normalized'], logits: 'none' });
          const ref = r.cache.get('ln_final.hook_normalized')!.data;
          const mine = new Float32Array(seen[b].length * model.config.dModel);
          seen[b].forEach((a, i) => mine.set(a, i * model.config.dModel));
          expect(mine.length).toBe(ref.length);
          expect(maxAbsDiff(mine, ref)).toBeLessThan(TOL);
        }
      }),
      { numRuns: 6 },
    );
  });

  it('hooks that return or mutate their input unchanged change nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(prompt(V), { minLength: 1, maxLength: 2 }), async (prompts) => {
        const base = await model.forward(prompts);
        const hooked = await model.forward(prompts, {
          hooks: [
            { name: '**', fn: (act) => act.slice() },
            {
              name: 'blocks.*.hook_resid_mid',
              fn: (act) => {
                act[0] += 0;
              },
            },
          ],
        });
        expect(hooked.logits).toEqual(base.logits);
      }),
      { numRuns: 5 },
    );
  });
});

describe('attention pattern', () => {
  const model = smallModel('llama');
  it('is computed only on request, sums to one over real keys, and an identity edit keeps the logits', async () => {
    const prompts = [
      [5, 6, 7, 8],
      [9, 10],
    ];
    const plain = await model.forward(prompts);
    expect(plain.cache.size).toBe(0);
    const r = await model.forward(prompts, { cache: ['blocks.1.attn.hook_pattern'] });
    const p = r.cache.get('blocks.1.attn.hook_pattern')!;
    const [B, H, T, S] = p.shape;
    expect(p.shape).toEqual([2, 4, 4, 4]);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = r.padding[b]; i < T; i++) {
          let sum = 0;
          for (let j = 0; j < S; j++) {
            const v = p.data[((b * H + h) * T + i) * S + j];
            if (j < r.padding[b] || j > i) expect(v).toBe(0);
            sum += v;
          }
          expect(sum).toBeCloseTo(1, 5);
        }
    const edited = await model.forward(prompts, { hooks: [{ name: 'blocks.*.attn.hook_pattern', fn: (a) => a.slice() }] });
    expect(maxAbsDiff(edited.logits, plain.logits)).toBeLessThan(TOL);
    // Attending only to the first real key changes the output: the recomputed z is really used.
    const forced = await model.forward(prompts, {
      hooks: [
        {
          name: 'blocks.0.attn.hook_pattern',
          fn: (a, ctx) => {
            const out = new Float32Array(a.length);
            const rows = a.length / ctx.width;
            for (let r2 = 0; r2 < rows; r2++) {
              const b = Math.floor(r2 / (a.length / ctx.width / ctx.batch));
              out[r2 * ctx.width + r.padding[b]] = 1;
            }
            return out;
          },
        },
      ],
    });
    expect(maxAbsDiff(forced.logits, plain.logits)).toBeGreaterThan(1e-3);
  });
});
