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
import { UsageError } from '../engine/errors.ts';

const TINY = path.join(projectRoot, 'models/tiny-chat');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-save-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('saveCompressedModel', () => {
  it('gptq4 with act-order (permuted int4) and sparsegpt-2:4 round-trip bit for bit', async () => {
    const original = await loadModel(TINY);
    const tok = original.tokenizer!;
    const calib = ['Write a poem about rain', 'How do I bake bread?', 'Explain gravity to a child', 'List three colours'].map((s) => tok.encodeChat(s));
    for (const name of ['gptq4-act', 'sparsegpt-2:4']) {
      const c = await compressModel(original, parseMethod(name), { calibration: calib });
      const out = path.join(dir, name);
      saveCompressedModel(TINY, c.model, out);
      const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
      if (name === 'gptq4-act') expect(cfg.quantization_config).toMatchObject({ quant_method: 'glassbox', bits: 4, group_size: 128, sym: false });
      else expect(cfg.quantization_config).toBeUndefined();
      expect(fs.existsSync(path.join(out, 'tokenizer.json'))).toBe(true);
      const re = await loadModel(out);
      for (let l = 0; l < re.config.nLayers; l++)
        for (const r of linearRoles(re)) {
          const a = c.model.getLinear(l, r).weight;
          const b = re.getLinear(l, r).weight;
          expect(b.format).toBe(a.format);
          if (a.format === 'int4' && b.format === 'int4') {
            expect(Array.from(b.packed)).toEqual(Array.from(a.packed));
            expect(Array.from(b.scales)).toEqual(Array.from(a.scales));
            expect(b.perm ? Array.from(b.perm) : null).toEqual(a.perm ? Array.from(a.perm) : null);
          } else if (a.format === 'f32' && b.format === 'f32') expect(Array.from(b.w)).toEqual(Array.from(a.w));
        }
      const x = (await c.model.forward(calib, { logits: 'last' })).logits;
      const y = (await re.forward(calib, { logits: 'last' })).logits;
      expect(Array.from(y)).toEqual(Array.from(x));
      re.dispose();
      c.model.dispose();
    }
  });

  it('refuses LLM.int8() mixed weights with a one-line UsageError naming the module', async () => {
    const original = await loadModel(TINY);
    const calib = [original.tokenizer!.encodeChat('Tell me a story about a dragon and a knight')];
    const c = await compressModel(original, parseMethod('llm-int8'), { calibration: calib });
    const err = (() => { try { saveCompressedModel(TINY, c.model, path.join(dir, 'llm')); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/model\.layers\.\d+\.mlp\.down_proj: LLM\.int8\(\)/);
  });
});
