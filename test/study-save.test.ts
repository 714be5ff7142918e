/** Compressed tiny-chat models saved as HF-style folders reload with identical weights and outputs. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../models/load.ts';
import { compressModel, linearRoles } from '../analysis/compress/apply.ts';
import { parseMethod } from '../analysis/compress/methods.ts';
import { saveCompressedModel } from '../analysis/study/save-model.ts';
import { projectRoot } from './helpers/shared.ts';
import { ModelFolderError } from '../engine/errors.ts';
import { linearToTensors, readGlassboxMixed } from '../engine/glassbox-format.ts';
import { readLinear } from '../engine/linear-reader.ts';
import { openModelFolder } from '../engine/model-folder.ts';
import type { WeightSource } from '../engine/types.ts';
import type { LayerWeight, Model } from '../models/types.ts';
import type { LinearWeight } from '../models/weight-formats.ts';

/** Every Linear of the reloaded model equals the saved one, field by field (formats, packed data, scales, zeros, perm). */
function expectSameLinears(saved: Model, reloaded: Model): void {
  // An absent perm and `perm: null` mean the same (no input gather).
  const flat = (w: LinearWeight) => ({ ...w, perm: w.perm ?? null });
  const norm = (w: LayerWeight) =>
    w.format === 'mixed'
      ? { ...w, main: flat(w.main), outlier: flat(w.outlier) }
      : w.format === 'w8a8'
        ? { ...w, weight: flat(w.weight) }
        : flat(w);
  for (let l = 0; l < reloaded.config.nLayers; l++)
    for (const r of linearRoles(reloaded))
      expect(norm(reloaded.getLinear(l, r).weight), `blocks.${l}.${r}`).toEqual(norm(saved.getLinear(l, r).weight));
}

const TINY = path.join(projectRoot, 'models/tiny-chat');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-save-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('saveCompressedModel', () => {
  it('gptq4 with act-order (permuted int4) and sparsegpt-2:4 round-trip bit for bit', async () => {
    const original = await loadModel(TINY);
    const tok = original.tokenizer!;
    const calib = ['Write a poem about rain', 'How do I bake bread?', 'Explain gravity to a child', 'List three colours'].map((s) =>
      tok.encodeChat(s),
    );
    for (const name of ['gptq4-act', 'sparsegpt-2:4']) {
      const c = await compressModel(original, parseMethod(name), { calibration: calib });
      const out = path.join(dir, name);
      saveCompressedModel(TINY, c.model, out);
      const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
      if (name === 'gptq4-act')
        expect(cfg.quantization_config).toMatchObject({ quant_method: 'glassbox', bits: 4, group_size: 128, sym: false });
      else expect(cfg.quantization_config).toBeUndefined();
      expect(fs.existsSync(path.join(out, 'tokenizer.json'))).toBe(true);
      const re = await loadModel(out);
      expectSameLinears(c.model, re);
      const x = (await c.model.forward(calib, { logits: 'last' })).logits;
      const y = (await re.forward(calib, { logits: 'last' })).logits;
      expect(Array.from(y)).toEqual(Array.from(x));
      re.dispose();
      c.model.dispose();
    }
  });

  it("int8-outlier-cols mixed weights round-trip: reloaded logits equal the in-memory compressed model's", async () => {
    const original = await loadModel(TINY);
    const tok = original.tokenizer!;
    const calib = ['Tell me a story about a dragon and a knight', 'How do I bake bread?'].map((s) => tok.encodeChat(s));
    // tiny-chat's activations stay below LLM.int8()'s 6.0 in many layers: a lower threshold gives outliers everywhere.
    const c = await compressModel(original, { ...parseMethod('int8-outlier-cols'), threshold: 1.5 } as never, { calibration: calib });
    const mixed = [...Array(c.model.config.nLayers).keys()]
      .flatMap((l) => linearRoles(c.model).map((r) => c.model.getLinear(l, r).weight))
      .filter((w) => w.format === 'mixed');
    expect(mixed.length).toBeGreaterThan(0);
    const out = path.join(dir, 'llm-int8');
    saveCompressedModel(TINY, c.model, out);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(cfg.quantization_config).toMatchObject({ quant_method: 'glassbox', bits: 8 });
    const re = await loadModel(out);
    expectSameLinears(c.model, re);
    const x = (await c.model.forward(calib)).logits;
    const y = (await re.forward(calib)).logits;
    // Bit-identical weights on the same backend: any difference would be a layout bug, so 1e-5 is generous.
    let maxDiff = 0;
    for (let i = 0; i < x.length; i++) maxDiff = Math.max(maxDiff, Math.abs(x[i] - y[i]));
    expect(maxDiff).toBeLessThan(1e-5);
    // readLinear alone would drop the outlier columns: it refuses, naming the module.
    const folder = openModelFolder(out);
    try {
      const m = folder.names.layers[0].down!;
      expect(() => readLinear(folder, m)).toThrow(ModelFolderError);
      expect(() => readLinear(folder, m)).toThrow(/down_proj is an LLM\.int8\(\) mixed module/);
    } finally {
      folder.close();
    }
    re.dispose();
  });

  it('awq4 saves the norms it folded its scales into, so the reload computes the same logits', async () => {
    const original = await loadModel(TINY);
    const tok = original.tokenizer!;
    const calib = ['Write a poem about rain', 'Explain gravity to a child'].map((s) => tok.encodeChat(s));
    const c = await compressModel(original, parseMethod('awq4'), { calibration: calib, awqSampleRows: 32 });
    const out = path.join(dir, 'awq4');
    saveCompressedModel(TINY, c.model, out);
    const re = await loadModel(out);
    for (let l = 0; l < re.config.nLayers; l++)
      for (const which of ['attn', 'mlp'] as const)
        expect(Array.from(re.getNorm(l, which).w)).toEqual(Array.from(c.model.getNorm(l, which).w));
    expect(Array.from(re.getNorm(0, 'attn').w)).not.toEqual(Array.from(original.getNorm(0, 'attn').w));
    expect(Array.from((await re.forward(calib, { logits: 'last' })).logits)).toEqual(
      Array.from((await c.model.forward(calib, { logits: 'last' })).logits),
    );
    re.dispose();
  });

  it('a corrupt outlier_cols tensor is a ModelFolderError naming it', () => {
    const n = 2;
    const k = 4;
    const main = { format: 'int8' as const, n, k, groupSize: k, q: new Int8Array(n * k), scales: new Float32Array(n).fill(1), perm: null };
    const w = {
      format: 'mixed' as const,
      n,
      k,
      main,
      outlierCols: Int32Array.from([1, 3]),
      outlier: { format: 'f32' as const, n, k: 2, w: new Float32Array(4) },
    };
    const tensors = linearToTensors('m', w);
    expect(tensors.map((t) => t.name)).toEqual(['m.qweight', 'm.scales', 'm.qshape', 'm.outlier_cols', 'm.outlier_weight']);
    const source = (cols: Int32Array): WeightSource => {
      const byName = new Map(tensors.map((t) => [t.name, t.name === 'm.outlier_cols' ? { ...t, data: cols, shape: [cols.length] } : t]));
      return {
        path: 'x.safetensors',
        names: () => [...byName.keys()],
        has: (nm: string) => byName.has(nm),
        info: (nm: string) => ({ dtype: byName.get(nm)!.dtype, shape: byName.get(nm)!.shape }),
        readRaw: (nm: string) => byName.get(nm)!.data,
        readF32: (nm: string) => byName.get(nm)!.data as Float32Array,
      } as unknown as WeightSource;
    };
    expect(readGlassboxMixed(source(Int32Array.from([1, 3])), 'm', null).outlierCols).toEqual(Int32Array.from([1, 3]));
    expect(() => readGlassboxMixed(source(Int32Array.from([3, 1])), 'm', null)).toThrow(
      /x\.safetensors: tensor m\.outlier_cols holds 1 at index 1/,
    );
    expect(() => readGlassboxMixed(source(Int32Array.from([1, 4])), 'm', null)).toThrow(ModelFolderError);
  });
});
