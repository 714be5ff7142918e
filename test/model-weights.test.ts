/** Weight access: getLinear / setLinear / getNorm / setNorm / clone / embeddings, MixedWeight (LLM.int8 decomposition), int4 group clamp. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../engine/errors.ts';
import { dequantize } from '../kernels/formats.ts';
import { quantizeInt8 } from '../kernels/quantize.ts';
import type { MixedWeight } from '../models/types.ts';
import { createReferenceBackend } from '../kernels/reference/backend.ts';
import { DecoderModel } from '../models/decoder-model.ts';
import { syntheticConfig, syntheticProvider } from '../models/synthetic.ts';
import { maxAbsDiff, SMALL, smallModel } from './helpers/synthetic-model.ts';
import { layerNormRef, rmsNormRef } from '../kernels/reference/ops.ts';

const prompts = [
  [1, 2, 3, 4],
  [5, 6],
];

describe('weights', () => {
  it('setLinear on a clone changes the clone only; the clone starts identical', async () => {
    const m = smallModel('qwen2');
    const base = await m.forward(prompts);
    const c = m.clone();
    expect((await c.forward(prompts)).logits).toEqual(base.logits);
    const lin = c.getLinear(1, 'o');
    const w = lin.weight;
    if (w.format !== 'f32') throw new Error('expected f32');
    c.setLinear(1, 'o', { weight: { ...w, w: w.w.map((v) => v * 2) }, bias: lin.bias });
    expect(maxAbsDiff((await c.forward(prompts)).logits, base.logits)).toBeGreaterThan(1e-3);
    expect((await m.forward(prompts)).logits).toEqual(base.logits);
    expect(() => c.setLinear(0, 'q', { weight: { format: 'f32', n: 3, k: 3, w: new Float32Array(9) }, bias: null })).toThrow(UsageError);
    expect(() => smallModel('gpt2').getLinear(0, 'gate')).toThrow(UsageError);
  });

  it('a tied model unembeds with its embedding; setEmbedding updates both', async () => {
    const m = smallModel('llama');
    expect(m.getUnembedding().format).toBe('f32');
    expect((m.getUnembedding() as { w: Float32Array }).w).toBe(m.getEmbedding());
    const base = await m.forward(prompts);
    m.setEmbedding(m.getEmbedding().map((v) => v * 0.5));
    expect((m.getUnembedding() as { w: Float32Array }).w).toBe(m.getEmbedding());
    expect(maxAbsDiff((await m.forward(prompts)).logits, base.logits)).toBeGreaterThan(1e-3);
  });

  it('MixedWeight: int8 main + f32 outlier columns equals running the summed weight', async () => {
    const m = smallModel('llama');
    const { weight, bias } = m.getLinear(0, 'down');
    if (weight.format !== 'f32') throw new Error('expected f32');
    const { n, k } = weight;
    const cols = Int32Array.from([3, 17, 40]);
    const zeroed = weight.w.slice();
    const outlier = new Float32Array(n * cols.length);
    for (let r = 0; r < n; r++)
      cols.forEach((c, j) => {
        outlier[r * cols.length + j] = weight.w[r * k + c];
        zeroed[r * k + c] = 0;
      });
    const main = quantizeInt8(zeroed, n, k);
    const mixed: MixedWeight = {
      format: 'mixed',
      n,
      k,
      main,
      outlierCols: cols,
      outlier: { format: 'f32', n, k: cols.length, w: outlier },
    };
    // Reference: the same decomposition densified.
    const dense = dequantize(main);
    for (let r = 0; r < n; r++)
      cols.forEach((c, j) => {
        dense[r * k + c] += outlier[r * cols.length + j];
      });
    const a = m.clone();
    a.setLinear(0, 'down', { weight: mixed, bias });
    const b = m.clone();
    b.setLinear(0, 'down', { weight: { format: 'f32', n, k, w: dense }, bias });
    const [ra, rb] = [await a.forward(prompts), await b.forward(prompts)];
    expect(maxAbsDiff(ra.logits, rb.logits)).toBeLessThan(1e-4);
    expect(a.precision).toBe('f32'); // precision is fixed at load
    expect(a.clone().getLinear(0, 'down').weight.format).toBe('mixed');
  });

  it('int4 groups are clamped to K when K < groupSize', () => {
    const cfg = syntheticConfig({ nLayers: 1, dModel: 32, nHeads: 4, nKvHeads: 2, dMlp: 200, vocabSize: 16 });
    const m = new DecoderModel(syntheticProvider(cfg), { backend: createReferenceBackend(), precision: 'int4', groupSize: 128 });
    const q = m.getLinear(0, 'q').weight;
    const down = m.getLinear(0, 'down').weight;
    if (q.format !== 'int4' || down.format !== 'int4') throw new Error('expected int4');
    expect(q.groupSize).toBe(32); // K = 32 < 128: one group per row
    expect(down.groupSize).toBe(128); // K = 200: ceil(200 / 128) = 2 groups, the last partial
    expect(down.scales.length).toBe(32 * 2);
  });
});

describe('retainWeights: false', () => {
  it('runs identically but refuses weight access', async () => {
    const cfg = syntheticConfig({ nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: 2, dMlp: 48, vocabSize: 64, family: 'qwen2' });
    const keep = new DecoderModel(syntheticProvider(cfg, 3), { backend: createReferenceBackend(), precision: 'int8' });
    const lean = new DecoderModel(syntheticProvider(cfg, 3), {
      backend: createReferenceBackend(),
      precision: 'int8',
      retainWeights: false,
    });
    expect((await lean.forward(prompts)).logits).toEqual((await keep.forward(prompts)).logits);
    expect(lean.precision).toBe('int8');
    expect(() => lean.getLinear(0, 'q')).toThrow(/retainWeights/);
    expect(() => lean.getUnembedding()).toThrow(UsageError);
    expect(() => lean.clone()).toThrow(UsageError);
  });
});

describe('getNorm / setNorm', () => {
  it('setNorm changes the normalized activation to the reference norm with the new parameters', async () => {
    for (const family of ['llama', 'gpt2'] as const) {
      const m = smallModel(family);
      const d = m.config.dModel;
      const base = await m.forward(prompts);
      const old = m.getNorm(1, 'mlp');
      expect(old.b === null).toBe(family !== 'gpt2');
      const w = Float32Array.from({ length: d }, (_, i) => 0.5 + ((i * 37) % 11) / 10);
      const b = family === 'gpt2' ? Float32Array.from({ length: d }, (_, i) => ((i * 13) % 7) / 10 - 0.3) : null;
      m.setNorm(1, 'mlp', { w, b });
      expect(m.getNorm(1, 'mlp').w).toBe(w);
      const r = await m.forward(prompts, { cache: ['blocks.1.hook_resid_mid', 'blocks.1.ln2.hook_normalized'] });
      const mid = r.cache.get('blocks.1.hook_resid_mid')!.data;
      const rows = mid.length / d;
      const eps = m.config.normEps;
      const want = b ? layerNormRef(mid, w, b, rows, d, eps) : rmsNormRef(mid, w, rows, d, eps);
      // Same f32 formula on the same input: only summation order may differ (a few ulps of values ~1).
      expect(maxAbsDiff(r.cache.get('blocks.1.ln2.hook_normalized')!.data, want)).toBeLessThan(1e-5);
      expect(maxAbsDiff(r.logits, base.logits)).toBeGreaterThan(1e-3);
    }
  });

  it('clone() copies norms: editing the clone leaves the source alone', async () => {
    const m = smallModel('llama');
    const base = await m.forward(prompts);
    const c = m.clone();
    expect(c.getNorm(0, 'attn').w).not.toBe(m.getNorm(0, 'attn').w);
    expect(Array.from(c.getNorm(0, 'attn').w)).toEqual(Array.from(m.getNorm(0, 'attn').w));
    c.setNorm(0, 'attn', { w: c.getNorm(0, 'attn').w.map((v) => v * 3), b: null });
    expect(maxAbsDiff((await c.forward(prompts)).logits, base.logits)).toBeGreaterThan(1e-3);
    expect((await m.forward(prompts)).logits).toEqual(base.logits);
    // The clone of an edited model carries the edit.
    expect(Array.from(c.clone().getNorm(0, 'attn').w)).toEqual(Array.from(c.getNorm(0, 'attn').w));
  });

  it('rejects wrong shapes, a bias mismatch and out-of-range layers with UsageErrors naming the norm', () => {
    const m = smallModel('llama');
    const d = m.config.dModel;
    expect(() => m.setNorm(0, 'attn', { w: new Float32Array(d + 1), b: null })).toThrow(/layer 0 attn norm weight has 33 values/);
    expect(() => m.setNorm(0, 'mlp', { w: new Float32Array(d), b: new Float32Array(d) })).toThrow(/RMSNorm takes no bias/);
    expect(() => smallModel('gpt2').setNorm(1, 'attn', { w: new Float32Array(d), b: null })).toThrow(/LayerNorm needs a bias/);
    expect(() => m.getNorm(2, 'attn')).toThrow(UsageError);
    const lean = new DecoderModel(syntheticProvider(syntheticConfig({ ...SMALL, family: 'llama' }), 3), {
      backend: createReferenceBackend(),
      retainWeights: false,
    });
    expect(() => lean.getNorm(0, 'attn')).toThrow(/retainWeights/);
  });
});
