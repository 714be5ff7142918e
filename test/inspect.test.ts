import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectModel } from '../engine/inspect.ts';
import { estimateMemory, linearBytes } from '../engine/memory-estimate.ts';
import { parseConfig } from '../engine/config.ts';
import { describeShared, projectRoot, sharedDir } from './helpers/shared.ts';

/** Independent header reader: tensor name -> {dtype, shape}, for a single file or the shards of an index. */
function headers(dir: string): Map<string, { dtype: string; shape: number[] }> {
  const index = path.join(dir, 'model.safetensors.index.json');
  const files = existsSync(index)
    ? [...new Set(Object.values(JSON.parse(readFileSync(index, 'utf8')).weight_map as Record<string, string>))]
    : ['model.safetensors'];
  const out = new Map<string, { dtype: string; shape: number[] }>();
  for (const f of files) {
    const buf = readFileSync(path.join(dir, f));
    const n = Number(buf.readBigUInt64LE(0));
    const h = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[] }>;
    for (const [name, v] of Object.entries(h)) if (name !== '__metadata__') out.set(name, { dtype: v.dtype, shape: v.shape });
  }
  return out;
}
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
const sumNumel = (dir: string) => [...headers(dir).values()].reduce((a, t) => a + numel(t.shape), 0);

/** Parameters of a dense model from its config alone (transformers' module shapes). */
function paramsFromConfig(dir: string): number {
  const c = parseConfig(JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')));
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const d = c.dModel;
  const norm = c.norm === 'layer' ? 2 * d : d;
  let perLayer = 2 * norm + d * q + 2 * d * kv + q * d + (c.family === 'gpt2' ? 2 : 3) * d * c.dMlp;
  if (c.qkvBias) perLayer += q + 2 * kv;
  if (c.outBias) perLayer += d;
  if (c.mlpBias) perLayer += c.dMlp + d;
  let total = c.nLayers * perLayer + c.vocabSize * d + norm;
  if (c.family === 'gpt2') total += c.maxPositions * d;
  if (!c.tiedEmbeddings) total += c.vocabSize * d;
  return total;
}

describe('inspect tiny-chat', () => {
  const dir = path.join(projectRoot, 'models/tiny-chat');
  it('reports architecture, the README parameter count and sizes', () => {
    const r = inspectModel(dir, { tensors: true });
    expect(r).toMatchObject({
      family: 'llama',
      layers: 6,
      dModel: 192,
      heads: 6,
      kvHeads: 2,
      headDim: 32,
      dMlp: 512,
      vocabSize: 2048,
      tiedEmbeddings: true,
      tokenizer: true,
      chatTemplate: true,
      quantization: null,
      tensorCount: 56,
    });
    expect(r.parameters).toBe(2_755_008); // models/tiny-chat/README.md
    expect(r.parameters).toBe(paramsFromConfig(dir));
    expect(r.dtypes).toEqual({ BF16: { tensors: 56, bytes: 2 * 2_755_008 } });
    expect(r.bytesOnDisk).toBe(statSync(path.join(dir, 'model.safetensors')).size);
    expect(r.weightFiles).toEqual(['model.safetensors']);
    expect(r.tensors).toHaveLength(56);
    expect(r.tensors![0]).toEqual({
      name: 'model.embed_tokens.weight',
      dtype: 'BF16',
      shape: [2048, 192],
      bytes: 2048 * 192 * 2,
      file: 'model.safetensors',
    });
    // tensors are listed in layer order
    expect(r.tensors!.findIndex((t) => t.name.startsWith('model.layers.1.'))).toBeLessThan(
      r.tensors!.findIndex((t) => t.name.startsWith('model.layers.2.')),
    );
  });

  it('estimates memory: f32 = 4 bytes per parameter, int8 and int4 from the kernel layouts', () => {
    const r = inspectModel(dir);
    expect(r.memory.f32).toBe(4 * r.parameters);
    const c = parseConfig(JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')));
    // The 7 Linears per layer, [N, K]: q 192x192, k/v 64x192, o 192x192, gate/up 512x192, down 192x512.
    const lin: Array<[number, number]> = [
      [192, 192],
      [64, 192],
      [64, 192],
      [192, 192],
      [512, 192],
      [512, 192],
      [192, 512],
    ];
    const f32Rest = 4 * (2048 * 192 + 192 + 6 * 2 * 192);
    for (const p of ['int8', 'int4'] as const) {
      expect(r.memory[p]).toBe(f32Rest + 6 * lin.reduce((a, [n, k]) => a + linearBytes(n, k, p), 0));
    }
    expect(linearBytes(512, 192, 'int8')).toBe(512 * 192 + 512 * 4);
    expect(linearBytes(192, 512, 'int4')).toBe(192 * 256 + 192 * 4 * 5);
    expect(r.memory.kvCacheBytesPerToken).toBe(2 * 6 * 2 * 32 * 4);
    expect(estimateMemory(c)).toEqual(r.memory);
    expect(r.memory.int4).toBeLessThan(r.memory.int8);
  });
});

describeShared('inspect every shared model folder', () => {
  const m = (rel: string) => path.join(sharedDir!, 'models', rel);
  const dense = ['tiny-chat', 'stories260k', 'fixtures/qwen2', 'fixtures/llama3', 'fixtures/gpt2', 'fixtures/llama_f16'];

  it.each(dense)('%s: parameters = elements in the headers = config formula', (rel) => {
    const r = inspectModel(m(rel));
    const h = headers(m(rel));
    expect(r.parameters).toBe(sumNumel(m(rel)));
    expect(r.parameters).toBe(paramsFromConfig(m(rel)));
    expect(r.memory.f32).toBe(4 * r.parameters);
    expect(r.tensorCount).toBe(h.size);
    const byDtype: Record<string, number> = {};
    for (const t of h.values()) byDtype[t.dtype] = (byDtype[t.dtype] ?? 0) + 1;
    expect(Object.fromEntries(Object.entries(r.dtypes).map(([d, v]) => [d, v.tensors]))).toEqual(byDtype);
  });

  it('llama3 (sharded): counts both shards and the index on disk', () => {
    const r = inspectModel(m('fixtures/llama3'), { tensors: true });
    const files = ['model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    expect(r.weightFiles).toEqual(files);
    expect(r.bytesOnDisk).toBe(files.reduce((a, f) => a + statSync(path.join(m('fixtures/llama3'), f)).size, 0));
    expect(new Set(r.tensors!.map((t) => t.file))).toEqual(new Set(files.slice(1)));
    expect(r).toMatchObject({ tiedEmbeddings: false, headDim: 32, eosTokenIds: [501, 502] });
    expect(r.rope?.scaling.type).toBe('llama3');
  });

  // A quantized checkpoint counts the logical weights of its source model: its dense tensors plus, for each
  // quantized module, the N*K elements of that module in dequantized.safetensors (an independent file).
  const quantized: Array<[string, string, string]> = [
    ['quantized/gptq4_g32_actorder', 'fixtures/qwen2', 'gptq'],
    ['quantized/gptq8_g128_sym', 'fixtures/qwen2', 'gptq'],
    ['quantized/awq4_g32', 'fixtures/llama_f16', 'awq'],
    ['quantized/ct_w4a16_g32', 'fixtures/llama_f16', 'compressed-tensors'],
  ];
  it.each(quantized)('%s: logical parameters = those of %s', (rel, source, method) => {
    const r = inspectModel(m(rel));
    expect(r.quantization?.method).toBe(method);
    expect(r.parameters).toBe(paramsFromConfig(m(source)));
    expect(r.parameters).toBe(sumNumel(m(source)));
    const deq = (() => {
      const buf = readFileSync(path.join(m(rel), 'dequantized.safetensors'));
      const n = Number(buf.readBigUInt64LE(0));
      const hd = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { shape: number[] }>;
      return Object.entries(hd).filter(([k]) => k !== '__metadata__');
    })();
    const quantModules = new Set(deq.map(([k]) => k.replace(/\.weight$/, '')));
    let denseElems = 0;
    for (const [name, t] of headers(m(rel))) {
      const module = name.replace(/\.[^.]+$/, '');
      if (quantModules.has(module) && !name.endsWith('.bias')) continue; // packed weight + its metadata
      denseElems += numel(t.shape);
    }
    expect(r.parameters).toBe(denseElems + deq.reduce((a, [, t]) => a + numel(t.shape), 0));
    expect(r.dtypes.I32.tensors).toBeGreaterThan(0);
    expect(r.bytesOnDisk).toBe(statSync(path.join(m(rel), 'model.safetensors')).size);
  });
});
