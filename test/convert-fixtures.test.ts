/**
 * The pre-quantized fixtures in ../shared/models/quantized: every quantized Linear read through readLinear
 * (hence the GPTQ / AWQ / compressed-tensors converters) must dequantize BIT FOR BIT to
 * dequantized.safetensors (each value is f16_scale * small integer, exact in f32, so there is no tolerance).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { readConfig } from '../engine/config.ts';
import { glassboxQuantizationConfig, linearToTensors, type NamedTensor } from '../engine/glassbox-format.ts';
import { readLinear } from '../engine/linear-reader.ts';
import { openModelFolder } from '../engine/model-folder.ts';
import { writeCheckpoint } from '../engine/safetensors-writer.ts';
import { dequantize } from '../kernels/formats.ts';
import type { LinearWeight } from '../kernels/types.ts';
import { memorySource, readSafetensors } from './helpers/formats-weights.ts';
import { describeShared, sharedDir } from './helpers/shared.ts';

const FIXTURES = [
  { name: 'gptq4_g32_actorder', format: 'int4', perm: true, dense: [] as string[] },
  { name: 'gptq8_g128_sym', format: 'int8', perm: false, dense: [] },
  { name: 'awq4_g32', format: 'int4', perm: false, dense: ['model.layers.0.mlp.down_proj', 'model.layers.1.mlp.down_proj'] },
  { name: 'ct_w4a16_g32', format: 'int4', perm: false, dense: ['model.layers.0.mlp.down_proj', 'model.layers.1.mlp.down_proj'] },
];

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Index of the first element whose f32 bit pattern differs (-0 vs +0 counts), or -1. */
function firstBitDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const x = bits(a);
  const y = bits(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

describeShared('pre-quantized fixtures dequantize bit for bit', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'glassbox-formats-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  for (const fx of FIXTURES) {
    it(fx.name, () => {
      const dir = path.join(sharedDir!, 'models/quantized', fx.name);
      const folder = openModelFolder(dir);
      const want = readSafetensors(path.join(dir, 'dequantized.safetensors'));
      expect(want.size).toBeGreaterThanOrEqual(12);
      const converted = new Map<string, LinearWeight>();
      try {
        for (const [tensorName, t] of want) {
          const module = tensorName.replace(/\.weight$/, '');
          const { weight, bias } = readLinear(folder, module);
          expect(weight.format, module).toBe(fx.format);
          expect([weight.n, weight.k], module).toEqual(t.shape);
          expect(Boolean(weight.perm), module).toBe(fx.perm);
          const diff = firstBitDifference(dequantize(weight), t.data as Float32Array);
          expect(diff, `${module}: first differing element`).toBe(-1);
          // q/k/v biases exist only in the qwen2-based (GPTQ) fixtures.
          expect(bias !== null, module).toBe(fx.name.startsWith('gptq') && /[qkv]_proj$/.test(module));
          converted.set(module, weight);
        }
        for (const module of fx.dense) {
          const { weight } = readLinear(folder, module);
          expect(weight.format).toBe('f32');
          expect(firstBitDifference(dequantize(weight), folder.weights.readF32(`${module}.weight`))).toBe(-1);
        }

        // Save as a glassbox folder (quantized tensors replaced, everything else copied) and read it back.
        const out = path.join(tmp, fx.name);
        const tensors: NamedTensor[] = [];
        for (const name of folder.weights.names()) {
          const module = name.replace(/\.[a-z_]+$/, '');
          if (converted.has(module) && !name.endsWith('.bias')) continue;
          const info = folder.weights.info(name);
          tensors.push({ name, dtype: info.dtype, shape: info.shape, data: folder.weights.readRaw(name) });
        }
        for (const [module, w] of converted) tensors.push(...linearToTensors(module, w));
        writeCheckpoint(out, tensors);
        const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
        cfg.quantization_config = glassboxQuantizationConfig(fx.format === 'int8' ? 8 : 4, 32, false);
        writeFileSync(path.join(out, 'config.json'), JSON.stringify(cfg));
        const saved = openModelFolder(out);
        try {
          for (const [module, w] of converted) {
            const back = readLinear(saved, module).weight;
            expect(back.format).toBe(w.format);
            expect(firstBitDifference(dequantize(back), want.get(`${module}.weight`)!.data as Float32Array), `${module} via glassbox`).toBe(
              -1,
            );
          }
        } finally {
          saved.close();
        }
      } finally {
        folder.close();
      }
    });
  }

  it('act-order matters: reading GPTQ-4 groups as k // G instead of g_idx changes the weights', () => {
    const dir = path.join(sharedDir!, 'models/quantized/gptq4_g32_actorder');
    const config = readConfig(dir);
    const tensors = readSafetensors(path.join(dir, 'model.safetensors'));
    const module = 'model.layers.0.mlp.down_proj';
    const gIdx = tensors.get(`${module}.g_idx`)!;
    const k = gIdx.shape[0];
    tensors.set(`${module}.g_idx`, { ...gIdx, data: Int32Array.from({ length: k }, (_, c) => Math.floor(c / 32)) });
    const wrong = readLinear({ weights: memorySource(tensors), config, names: { conv1d: false } }, module);
    const want = readSafetensors(path.join(dir, 'dequantized.safetensors')).get(`${module}.weight`)!;
    expect(firstBitDifference(dequantize(wrong.weight), want.data as Float32Array)).not.toBe(-1);
  });
});
