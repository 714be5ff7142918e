/** Hook points: exact names and order, firing order, globs, cache positions, NaN detection, hooks in generation. */
import { describe, expect, it } from 'vitest';
import { NonFiniteError, UsageError } from '../engine/errors.ts';
import { globToRegExp } from '../models/hook-names.ts';
import { maxAbsDiff, smallModel } from './helpers/synthetic-model.ts';

const BLOCK = [
  'hook_resid_pre',
  'ln1.hook_normalized',
  'attn.hook_pattern',
  'attn.hook_z',
  'hook_attn_out',
  'hook_resid_mid',
  'ln2.hook_normalized',
  'mlp.hook_post',
  'hook_mlp_out',
  'hook_resid_post',
];

describe('hook names', () => {
  it('pins the ordered list (llama: no hook_pos_embed; gpt2: with it)', () => {
    const llama = smallModel('llama').hookNames();
    expect(llama).toEqual([
      'hook_embed',
      ...BLOCK.map((n) => `blocks.0.${n}`),
      ...BLOCK.map((n) => `blocks.1.${n}`),
      'ln_final.hook_normalized',
    ]);
    expect(llama.slice(0, 4)).toEqual([
      'hook_embed',
      'blocks.0.hook_resid_pre',
      'blocks.0.ln1.hook_normalized',
      'blocks.0.attn.hook_pattern',
    ]);
    const gpt2 = smallModel('gpt2').hookNames();
    expect(gpt2.slice(0, 3)).toEqual(['hook_embed', 'hook_pos_embed', 'blocks.0.hook_resid_pre']);
    expect(gpt2).toHaveLength(2 + 2 * BLOCK.length + 1);
  });

  it('fire in hookNames() order with the documented widths', async () => {
    for (const family of ['qwen2', 'gpt2'] as const) {
      const m = smallModel(family);
      const fired: string[] = [];
      const widths = new Map<string, number>();
      await m.forward([[1, 2, 3]], {
        hooks: [
          {
            name: '**',
            fn: (act, ctx) => {
              fired.push(ctx.name);
              widths.set(ctx.name, act.length / (ctx.batch * ctx.pos));
            },
          },
        ],
      });
      expect(fired).toEqual(m.hookNames());
      const { dModel, nHeads, headDim, dMlp } = m.config;
      expect(widths.get('blocks.1.hook_resid_pre')).toBe(dModel);
      expect(widths.get('blocks.0.attn.hook_z')).toBe(nHeads * headDim);
      expect(widths.get('blocks.0.mlp.hook_post')).toBe(dMlp);
      expect(widths.get('blocks.0.attn.hook_pattern')).toBe(nHeads * 3); // [heads, q, k] per (row, q): heads*k
    }
  });

  it('globs: * stays within a segment, ** spans dots', () => {
    expect(globToRegExp('blocks.*.hook_resid_pre').test('blocks.12.hook_resid_pre')).toBe(true);
    expect(globToRegExp('blocks.*.hook_resid_pre').test('blocks.1.attn.hook_resid_pre')).toBe(false);
    expect(globToRegExp('blocks.1.**').test('blocks.1.attn.hook_z')).toBe(true);
    expect(globToRegExp('blocks.1.*').test('blocks.10.hook_z')).toBe(false);
  });
});

describe('hooks and cache', () => {
  const model = smallModel('llama');

  it('cachePositions selects (negative = from the end) and shapes are [batch, pos, width]', async () => {
    const prompts = [
      [1, 2, 3, 4],
      [5, 6],
    ];
    const all = await model.forward(prompts, { cache: ['blocks.0.hook_resid_post'] });
    const some = await model.forward(prompts, { cache: ['blocks.0.hook_resid_post'], cachePositions: [-1, 0] });
    const a = all.cache.get('blocks.0.hook_resid_post')!;
    const s = some.cache.get('blocks.0.hook_resid_post')!;
    const d = model.config.dModel;
    expect(a.shape).toEqual([2, 4, d]);
    expect(s.shape).toEqual([2, 2, d]);
    for (let b = 0; b < 2; b++) {
      expect(s.data.slice(b * 2 * d, (b * 2 + 1) * d)).toEqual(a.data.slice((b * 4 + 3) * d, (b * 4 + 4) * d));
      expect(s.data.slice((b * 2 + 1) * d, (b * 2 + 2) * d)).toEqual(a.data.slice(b * 4 * d, (b * 4 + 1) * d));
    }
    await expect(model.forward(prompts, { cache: ['hook_embed'], cachePositions: [4] })).rejects.toThrow(UsageError);
  });

  it('a replacing hook changes what follows; positions are -1 at padding', async () => {
    const base = await model.forward([[3, 4, 5]]);
    let positions: number[] = [];
    const zeroed = await model.forward([[3, 4, 5], [7]], {
      hooks: [
        {
          name: 'blocks.1.hook_mlp_out',
          fn: (act, ctx) => {
            positions = Array.from(ctx.positions);
            return new Float32Array(act.length);
          },
        },
      ],
    });
    expect(positions).toEqual([0, 1, 2, -1, -1, 0]);
    expect(maxAbsDiff(zeroed.logits.subarray(0, base.logits.length), base.logits)).toBeGreaterThan(1e-3);
    await expect(model.forward([[1]], { hooks: [{ name: 'hook_embed', fn: () => new Float32Array(3) }] })).rejects.toThrow(/hook_embed/);
  });

  it('NaN/Inf raise NonFiniteError naming the first bad point, unless checkFinite is false', async () => {
    const poison = {
      name: 'blocks.1.hook_attn_out',
      fn: (act: Float32Array) => {
        act[5] = NaN;
      },
    };
    await expect(model.forward([[1, 2]], { hooks: [poison] })).rejects.toThrow(NonFiniteError);
    await expect(model.forward([[1, 2]], { hooks: [poison] })).rejects.toThrow(/blocks\.1\.hook_attn_out/);
    const r = await model.forward([[1, 2]], { hooks: [poison], checkFinite: false });
    expect(Number.isNaN(r.logits[0])).toBe(true);
  });

  it('stay active on every generated token with ctx.step and the absolute positions', async () => {
    const seen: { step: number; pos: number; positions: number[] }[] = [];
    await model.generate([[1, 2, 3], [4]], {
      maxNewTokens: 3,
      stopTokens: [],
      hooks: [
        {
          name: 'blocks.0.hook_resid_pre',
          fn: (_a, ctx) => {
            seen.push({ step: ctx.step, pos: ctx.pos, positions: Array.from(ctx.positions) });
          },
        },
      ],
    });
    expect(seen).toEqual([
      { step: 0, pos: 3, positions: [0, 1, 2, -1, -1, 0] },
      { step: 1, pos: 1, positions: [3, 1] },
      { step: 2, pos: 1, positions: [4, 2] },
    ]);
  });
});
