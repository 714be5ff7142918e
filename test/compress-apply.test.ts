import { describe, expect, it } from 'vitest';
import { DecoderModel } from '../models/decoder-model.ts';
import { syntheticConfig, syntheticProvider } from '../models/synthetic.ts';
import { createReferenceBackend } from '../kernels/reference/backend.ts';
import { compressModel, linearRoles } from '../analysis/compress/apply.ts';
import { parseMethod, parseMethods } from '../analysis/compress/methods.ts';
import { collectInputStats } from '../analysis/compress/calibrate.ts';
import { denseOf } from '../analysis/compress/dense.ts';
import { wandaPrune } from '../analysis/compress/prune.ts';
import { gptqQuantize } from '../analysis/compress/gptq.ts';
import { UsageError } from '../engine/errors.ts';
import type { Model } from '../models/types.ts';

function tinyModel(nKv = 4): Model {
  const cfg = syntheticConfig({ nLayers: 2, dModel: 32, nHeads: 4, nKvHeads: nKv, dMlp: 64, vocabSize: 50 });
  return new DecoderModel(syntheticProvider(cfg, 3), { backend: createReferenceBackend() });
}
const calib = Array.from({ length: 6 }, (_, i) => Array.from({ length: 5 + i }, (_, j) => 3 + ((i * 7 + j * 5) % 45)));

async function lastLogitsOf(m: Model): Promise<Float32Array> {
  return (await m.forward(calib, { logits: 'last' })).logits;
}
function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('method names', () => {
  it('parses the documented names and rejects others with a UsageError naming the flag', () => {
    expect(
      parseMethods(
        'int8,llm-int8,int8-outlier-cols,int4-g32,int4-g64,int4-g128,gptq4,awq4,magnitude-50,wanda-50,wanda-2:4,wanda-4:8,sparsegpt-50,sparsegpt-2:4',
      ).length,
    ).toBe(14);
    expect(parseMethod('wanda-2:4')).toMatchObject({ family: 'wanda', nm: { n: 2, m: 4 }, sparsity: 0.5 });
    expect(() => parseMethod('int3')).toThrow(UsageError);
    expect(() => parseMethod('magnitude-2:4')).toThrow(/--methods/);
  });
});

describe('compressModel on a synthetic 2-layer model', () => {
  it('int8: every block linear runs on the int8 kernel, original untouched, logits close', async () => {
    const m = tinyModel();
    const before = await lastLogitsOf(m);
    const c = await compressModel(m, parseMethod('int8'), { calibration: [] });
    for (let l = 0; l < 2; l++)
      for (const r of linearRoles(m)) {
        expect(c.model.getLinear(l, r).weight.format).toBe('int8');
        expect(m.getLinear(l, r).weight.format).toBe('f32');
      }
    expect(c.bitsPerWeight).toBeGreaterThan(8);
    expect(c.bitsPerWeight).toBeLessThan(9.1);
    // int8 per-channel error is <= absmax/254 per weight; logits of a 2-layer model move by far less than 0.1.
    expect(maxAbsDiff(before, await lastLogitsOf(c.model))).toBeLessThan(0.1);
    expect(maxAbsDiff(before, await lastLogitsOf(m))).toBe(0);
  });

  it('wanda-50 is sequential: layer 1 is pruned with statistics of the model whose layer 0 is pruned', async () => {
    const m = tinyModel();
    const c = await compressModel(m, parseMethod('wanda-50'), { calibration: calib });
    expect(c.sparsity.global.sparsity).toBeCloseTo(0.5, 6);
    for (const e of c.sparsity.matrices) expect(e.sparsity).toBeCloseTo(0.5, 6);
    // Independent recomputation of layer 1: prune layer 0 by hand, collect layer-1 stats, prune.
    const manual = m.clone();
    const s0 = (await collectInputStats(manual, calib, [0], {})).get(0)!;
    const pt = { q: 'attnIn', k: 'attnIn', v: 'attnIn', o: 'oIn', gate: 'mlpIn', up: 'mlpIn', down: 'downIn' } as const;
    for (const r of linearRoles(m)) {
      const { weight, bias } = manual.getLinear(0, r);
      manual.setLinear(0, r, {
        weight: {
          format: 'f32',
          n: weight.n,
          k: weight.k,
          w: wandaPrune(denseOf(weight), weight.n, weight.k, s0.get(pt[r])!.sumSq, { kind: 'unstructured', sparsity: 0.5 }),
        },
        bias,
      });
    }
    const s1 = (await collectInputStats(manual, calib, [1], {})).get(1)!;
    for (const r of linearRoles(m)) {
      const w = m.getLinear(1, r).weight;
      const want = wandaPrune(denseOf(w), w.n, w.k, s1.get(pt[r])!.sumSq, { kind: 'unstructured', sparsity: 0.5 });
      expect(maxAbsDiff(denseOf(c.model.getLinear(1, r).weight), want)).toBe(0);
    }
  });

  it("int8-outlier-cols (the first wave's static variant) keeps exactly the columns whose calibration |x| exceeds the threshold", async () => {
    const m = tinyModel();
    const stats = await collectInputStats(m, calib, [0, 1], {});
    const c = await compressModel(m, { ...parseMethod('int8-outlier-cols'), threshold: 1.5 } as never, { calibration: calib });
    for (let l = 0; l < 2; l++) {
      const w = c.model.getLinear(l, 'down').weight;
      expect(w.format).toBe('mixed');
      if (w.format !== 'mixed') continue;
      const amax = stats.get(l)!.get('downIn')!.absMax;
      expect([...w.outlierCols]).toEqual([...amax.keys()].filter((j) => amax[j] > 1.5));
    }
    await lastLogitsOf(c.model); // runs on the int8 + f32 path
    // No column above the threshold: plain int8 (a mixed weight would need an empty [N, 0] f32 part).
    const none = await compressModel(m, { ...parseMethod('int8-outlier-cols'), threshold: 1e9 } as never, { calibration: calib });
    for (const r of linearRoles(m)) expect(none.model.getLinear(0, r).weight.format).toBe('int8');
    expect(
      maxAbsDiff(
        await lastLogitsOf(none.model),
        await lastLogitsOf((await compressModel(m, parseMethod('int8'), { calibration: [] })).model),
      ),
    ).toBe(0);
  });

  it('gptq4, awq4, sparsegpt-2:4 and int4-g32 produce runnable models of the right formats and sparsity', async () => {
    for (const [name, nKv] of [
      ['gptq4', 4],
      ['awq4', 4],
      ['awq4', 2],
      ['sparsegpt-2:4', 4],
      ['int4-g32', 4],
    ] as const) {
      const m = tinyModel(nKv);
      const before = await lastLogitsOf(m);
      const c = await compressModel(m, parseMethod(name), { calibration: calib, awqSampleRows: 32 });
      const fmt = name.startsWith('sparsegpt') ? 'f32' : 'int4';
      for (let l = 0; l < 2; l++) for (const r of linearRoles(m)) expect(c.model.getLinear(l, r).weight.format).toBe(fmt);
      if (name.startsWith('sparsegpt')) expect(c.sparsity.global.sparsity).toBeCloseTo(0.5, 6);
      const after = await lastLogitsOf(c.model);
      expect(after.every(Number.isFinite)).toBe(true);
      expect(maxAbsDiff(before, after)).toBeGreaterThan(0);
      // Every role is in a searched group, o only without GQA (its 1/s would go into v rows shared by heads).
      if (name === 'awq4')
        expect(Object.keys(c.details.awqLoss as object).sort()).toEqual(
          nKv === 4
            ? ['0.down', '0.gate+up', '0.o', '0.q+k+v', '1.down', '1.gate+up', '1.o', '1.q+k+v']
            : ['0.down', '0.gate+up', '0.q+k+v', '1.down', '1.gate+up', '1.q+k+v'],
        );
    }
  });
});

describe('GPTQ true-sequential', () => {
  it('each stage is quantized on the activations of the already-quantized predecessors of its block', async () => {
    const m = tinyModel();
    const c = await compressModel(m, parseMethod('gptq4'), { calibration: calib });
    // Independent recomputation for layer 0: set the compressed q/k/v on a fresh clone, collect o_proj's input
    // Hessian there, quantize o_proj with it; then the same for gate/up (after o) and down (after gate/up).
    const ref = m.clone();
    const stages: { point: 'attnIn' | 'oIn' | 'mlpIn' | 'downIn'; roles: ('q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down')[] }[] = [
      { point: 'attnIn', roles: ['q', 'k', 'v'] },
      { point: 'oIn', roles: ['o'] },
      { point: 'mlpIn', roles: ['gate', 'up'] },
      { point: 'downIn', roles: ['down'] },
    ];
    for (const { point, roles } of stages) {
      const h = (await collectInputStats(ref, calib, [0], { hessian: true })).get(0)!.get(point)!.hessian!.h;
      for (const r of roles) {
        const w = m.getLinear(0, r);
        const q = gptqQuantize(denseOf(w.weight), w.weight.n, w.weight.k, h, { groupSize: Math.min(128, w.weight.k), actOrder: false }, r);
        expect(maxAbsDiff(denseOf(c.model.getLinear(0, r).weight), denseOf(q)), `blocks.0.${r}`).toBe(0);
        ref.setLinear(0, r, { weight: q, bias: w.bias });
      }
    }
    // Not the old behaviour: o_proj calibrated on the dense block's input would differ.
    const dense = (await collectInputStats(m, calib, [0], { hessian: true })).get(0)!.get('oIn')!.hessian!.h;
    const w = m.getLinear(0, 'o');
    const old = gptqQuantize(
      denseOf(w.weight),
      w.weight.n,
      w.weight.k,
      dense,
      { groupSize: Math.min(128, w.weight.k), actOrder: false },
      'o',
    );
    expect(maxAbsDiff(denseOf(c.model.getLinear(0, 'o').weight), denseOf(old))).toBeGreaterThan(0);
    for (const x of [ref, c.model, m]) x.dispose();
  });
});
