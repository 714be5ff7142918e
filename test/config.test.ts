import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseConfig, readConfig } from '../engine/config.ts';
import { ConfigError } from '../engine/errors.ts';
import { describeShared, projectRoot, sharedDir } from './helpers/shared.ts';

const llama = (over: Record<string, unknown> = {}) => ({
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 100,
  ...over,
});
const gpt2 = (over: Record<string, unknown> = {}) => ({
  model_type: 'gpt2',
  n_embd: 64,
  n_layer: 2,
  n_head: 4,
  n_inner: null,
  vocab_size: 320,
  ...over,
});
/** Asserts a ConfigError whose one-line message contains `text`. */
const rejects = (raw: unknown, text: string) => {
  let err: unknown;
  try {
    parseConfig(raw, 'config.json');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toContain(text);
  expect((err as Error).message).not.toContain('\n');
};

describe('parseConfig: families and defaults', () => {
  it('reads the embedded tiny-chat config', () => {
    const c = readConfig(path.join(projectRoot, 'models/tiny-chat'));
    expect(c).toMatchObject({
      family: 'llama',
      nLayers: 6,
      dModel: 192,
      nHeads: 6,
      nKvHeads: 2,
      headDim: 32,
      dMlp: 512,
      vocabSize: 2048,
      maxPositions: 256,
      norm: 'rms',
      normEps: 1e-5,
      act: 'silu',
      tiedEmbeddings: true,
      qkvBias: false,
      bosTokenId: 1,
      eosTokenIds: [2],
      padTokenId: 0,
      torchDtype: 'bfloat16',
      quantization: null,
      slidingWindow: null,
    });
    expect(c.rope).toEqual({ theta: 10000, scaling: { type: 'none' }, dim: 32 });
  });

  it('applies transformers defaults for omitted fields', () => {
    const c = parseConfig(llama({ num_key_value_heads: undefined }));
    expect(c).toMatchObject({ nKvHeads: 4, headDim: 16, normEps: 1e-6, maxPositions: 2048, tiedEmbeddings: false, eosTokenIds: [] });
    expect(c.rope?.theta).toBe(10000);
    expect(parseConfig({ ...llama(), model_type: 'qwen2' })).toMatchObject({ qkvBias: true, outBias: false, tiedEmbeddings: false });
    expect(parseConfig(gpt2())).toMatchObject({
      dMlp: 256,
      maxPositions: 1024,
      tiedEmbeddings: true,
      normEps: 1e-5,
      rope: null,
      headDim: 16,
      nKvHeads: 4,
      qkvBias: true,
      outBias: true,
      mlpBias: true,
      norm: 'layer',
      act: 'gelu_new',
    });
    expect(parseConfig(gpt2({ n_inner: 100 })).dMlp).toBe(100);
  });

  it('maps llama attention_bias / mlp_bias and explicit head_dim', () => {
    const c = parseConfig(llama({ attention_bias: true, mlp_bias: true, hidden_size: 60, head_dim: 32 }));
    expect(c).toMatchObject({ qkvBias: true, outBias: true, mlpBias: true, headDim: 32, dModel: 60 });
  });

  it('normalizes sliding windows per family', () => {
    expect(parseConfig({ ...llama(), model_type: 'mistral', sliding_window: null }).slidingWindow).toBeNull();
    expect(parseConfig({ ...llama(), model_type: 'mistral', sliding_window: 4096 }).slidingWindow).toBe(4096);
    expect(parseConfig({ ...llama(), model_type: 'mistral' }).slidingWindow).toBe(4096); // MistralConfig default
    const qwen = { ...llama(), model_type: 'qwen2', sliding_window: 512 };
    expect(parseConfig({ ...qwen, use_sliding_window: false }).slidingWindow).toBeNull();
    expect(parseConfig({ ...qwen, use_sliding_window: true, max_window_layers: 0 }).slidingWindow).toBe(512);
    expect(parseConfig({ ...qwen, use_sliding_window: true, max_window_layers: 2 }).slidingWindow).toBeNull();
    rejects({ ...qwen, use_sliding_window: true, max_window_layers: 1 }, 'per-layer sliding window');
  });

  it('reads rope_scaling under both `type` and `rope_type`', () => {
    const l3 = { factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
    const want = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };
    expect(parseConfig(llama({ rope_scaling: { ...l3, rope_type: 'llama3' } })).rope?.scaling).toEqual(want);
    expect(parseConfig(llama({ rope_scaling: { ...l3, type: 'llama3' } })).rope?.scaling).toEqual(want);
    expect(parseConfig(llama({ rope_scaling: { type: 'linear', factor: 2 } })).rope?.scaling).toEqual({ type: 'linear', factor: 2 });
    expect(parseConfig(llama({ rope_scaling: { rope_type: 'default' } })).rope?.scaling).toEqual({ type: 'none' });
    expect(parseConfig(llama({ rope_scaling: null })).rope?.scaling).toEqual({ type: 'none' });
  });

  it('takes eos_token_id as a number or a list', () => {
    expect(parseConfig(llama({ eos_token_id: 7 })).eosTokenIds).toEqual([7]);
    expect(parseConfig(llama({ eos_token_id: [7, 9] })).eosTokenIds).toEqual([7, 9]);
  });

  it('keeps every shape field of random valid llama configs (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 4096 }),
        fc.integer({ min: 1, max: 50 }),
        (kv, group, headDimHalf, layers, vocab, mlp) => {
          const heads = kv * group;
          const headDim = 2 * headDimHalf;
          const c = parseConfig(
            llama({
              hidden_size: heads * headDim,
              num_attention_heads: heads,
              num_key_value_heads: kv,
              num_hidden_layers: layers,
              vocab_size: vocab,
              intermediate_size: mlp,
            }),
          );
          expect([c.nHeads, c.nKvHeads, c.headDim, c.nLayers, c.vocabSize, c.dMlp]).toEqual([heads, kv, headDim, layers, vocab, mlp]);
          expect(c.rope?.dim).toBe(headDim);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('parseConfig: bad input names the field', () => {
  it('missing required fields', () => {
    for (const key of ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'vocab_size']) {
      rejects(llama({ [key]: undefined }), `config.json: missing field ${key}`);
    }
    for (const key of ['n_embd', 'n_layer', 'n_head', 'vocab_size'])
      rejects(gpt2({ [key]: undefined }), `config.json: missing field ${key}`);
    rejects({ hidden_size: 4 }, 'missing field model_type');
    rejects([1, 2], 'expected a JSON object');
  });

  it('wrong types and values', () => {
    rejects(llama({ hidden_size: '64' }), 'field hidden_size must be a positive integer');
    rejects(llama({ num_hidden_layers: 0 }), 'field num_hidden_layers must be a positive integer');
    rejects(llama({ rms_norm_eps: -1 }), 'rms_norm_eps');
    rejects(llama({ eos_token_id: ['a'] }), 'eos_token_id');
    rejects(llama({ hidden_act: 'gelu' }), 'unsupported hidden_act "gelu"');
    rejects(gpt2({ activation_function: 'relu' }), 'unsupported activation_function "relu"');
  });

  it('unknown model_type lists the supported ones', () => {
    rejects(llama({ model_type: 'falcon' }), 'unsupported model_type "falcon" (supported: llama, mistral, qwen2, gpt2)');
  });

  it('unsupported rope_scaling', () => {
    rejects(llama({ rope_scaling: { type: 'yarn', factor: 4 } }), 'config.json: unsupported rope_scaling type yarn');
    rejects(llama({ rope_scaling: { rope_type: 'dynamic', factor: 2 } }), 'unsupported rope_scaling type dynamic');
    rejects(llama({ rope_scaling: { rope_type: 'llama3', factor: 8 } }), 'rope_scaling: missing field low_freq_factor');
    rejects(llama({ rope_scaling: { type: 'linear' } }), 'rope_scaling: missing field factor');
    rejects(llama({ rope_scaling: 'linear' }), 'rope_scaling must be an object');
  });

  it('heads that do not divide', () => {
    rejects(llama({ hidden_size: 66 }), 'hidden size 66 is not divisible by num_attention_heads 4');
    rejects(llama({ num_key_value_heads: 3 }), 'num_key_value_heads 3 does not divide num_attention_heads 4');
    rejects(gpt2({ n_embd: 66 }), 'not divisible by num_attention_heads 4');
  });
});

describe('quantization_config', () => {
  const q = (qc: Record<string, unknown>) => parseConfig(llama({ quantization_config: qc })).quantization;
  it('gptq', () => {
    expect(q({ quant_method: 'gptq', bits: 4, group_size: 32, desc_act: true, sym: false, checkpoint_format: 'gptq' })).toMatchObject({
      method: 'gptq',
      bits: 4,
      groupSize: 32,
      descAct: true,
      sym: false,
      checkpointFormat: 'gptq',
      notConverted: [],
    });
    expect(q({ quant_method: 'gptq', bits: 8, group_size: -1 })).toMatchObject({
      groupSize: -1,
      sym: true,
      descAct: false,
      checkpointFormat: 'gptq',
    });
    rejects(llama({ quantization_config: { quant_method: 'gptq', bits: 3 } }), 'quantization_config: unsupported bits 3');
    rejects(llama({ quantization_config: { quant_method: 'gptq', bits: 4, group_size: 0 } }), 'group_size must be positive or -1');
    rejects(llama({ quantization_config: { quant_method: 'gptq', group_size: 32 } }), 'quantization_config: missing field bits');
  });
  it('awq', () => {
    expect(
      q({ quant_method: 'awq', bits: 4, group_size: 32, zero_point: true, version: 'gemm', modules_to_not_convert: ['down_proj'] }),
    ).toMatchObject({ method: 'awq', bits: 4, groupSize: 32, sym: false, notConverted: ['down_proj'] });
    expect(
      q({ quant_method: 'awq', bits: 4, group_size: 128, zero_point: false, version: 'GEMM', modules_to_not_convert: null }),
    ).toMatchObject({ sym: true, notConverted: [] });
    rejects(
      llama({ quantization_config: { quant_method: 'awq', bits: 4, group_size: 32, version: 'gemv' } }),
      'unsupported AWQ version "gemv"',
    );
  });
  it('compressed-tensors', () => {
    const weights = { num_bits: 4, type: 'int', symmetric: true, group_size: 32, strategy: 'group', actorder: null };
    const ct = (over: Record<string, unknown>, fmt = 'pack-quantized') => ({
      quant_method: 'compressed-tensors',
      format: fmt,
      ignore: ['lm_head'],
      config_groups: { group_0: { targets: ['Linear'], weights: { ...weights, ...over } } },
    });
    expect(q(ct({}))).toMatchObject({
      method: 'compressed-tensors',
      bits: 4,
      groupSize: 32,
      sym: true,
      descAct: false,
      notConverted: ['lm_head'],
    });
    expect(q(ct({ strategy: 'channel', group_size: null, num_bits: 8 }, 'int-quantized'))).toMatchObject({ bits: 8, groupSize: -1 });
    expect(q(ct({ actorder: 'group' }))?.descAct).toBe(true);
    rejects(llama({ quantization_config: ct({}, 'float-quantized') }), 'unsupported compressed-tensors format "float-quantized"');
    rejects(llama({ quantization_config: ct({ strategy: 'tensor' }) }), 'config_groups.group_0.weights: unsupported strategy "tensor"');
    rejects(llama({ quantization_config: ct({ type: 'float' }) }), 'unsupported type "float"');
  });
  it('glassbox and unknown methods', () => {
    expect(q({ quant_method: 'glassbox', bits: 8, group_size: 128, sym: true })).toMatchObject({
      method: 'glassbox',
      bits: 8,
      groupSize: 128,
      sym: true,
    });
    rejects(llama({ quantization_config: { quant_method: 'bitsandbytes' } }), 'unsupported quant_method "bitsandbytes"');
  });
});

describe('readConfig', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'glassbox-config-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const folder = (name: string, files: Record<string, string>) => {
    const dir = path.join(tmp, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, f), text);
    return dir;
  };

  it('merges quantize_config.json (GPTQ) when config.json has no quantization_config', () => {
    const dir = folder('gptq', {
      'config.json': JSON.stringify(llama()),
      'quantize_config.json': JSON.stringify({ bits: 4, group_size: 128, desc_act: false, sym: true }),
    });
    expect(readConfig(dir).quantization).toMatchObject({ method: 'gptq', bits: 4, groupSize: 128, sym: true });
  });

  it('names a missing or malformed config.json', () => {
    expect(() => readConfig(folder('none', {}))).toThrow(/config\.json: file not found/);
    expect(() => readConfig(folder('bad', { 'config.json': '{"model_type": ' }))).toThrow(ConfigError);
    expect(() => readConfig(folder('bad2', { 'config.json': '{"model_type": ' }))).toThrow(/config\.json: not valid JSON/);
  });
});

describeShared('readConfig on every shared fixture', () => {
  it('normalizes the documented fixture specifics', () => {
    const m = (p: string) => readConfig(path.join(sharedDir!, 'models', p));
    expect(m('fixtures/llama3')).toMatchObject({ headDim: 32, eosTokenIds: [501, 502], tiedEmbeddings: false });
    expect(m('fixtures/llama3').rope).toEqual({
      theta: 500000,
      dim: 32,
      scaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 },
    });
    expect(m('fixtures/qwen2')).toMatchObject({ family: 'qwen2', qkvBias: true, slidingWindow: null, tiedEmbeddings: true, normEps: 1e-6 });
    expect(m('fixtures/gpt2')).toMatchObject({ family: 'gpt2', dMlp: 256, bosTokenId: 319, eosTokenIds: [319], maxPositions: 128 });
    expect(m('fixtures/llama_f16')).toMatchObject({ nKvHeads: 6, nHeads: 6, torchDtype: 'float16', tiedEmbeddings: false });
    expect(m('stories260k')).toMatchObject({ nHeads: 8, nKvHeads: 4, headDim: 8, dMlp: 172 });
    expect(m('quantized/gptq4_g32_actorder').quantization).toMatchObject({
      method: 'gptq',
      bits: 4,
      groupSize: 32,
      descAct: true,
      sym: false,
    });
    expect(m('quantized/gptq8_g128_sym').quantization).toMatchObject({ method: 'gptq', bits: 8, groupSize: -1, sym: true });
    expect(m('quantized/awq4_g32').quantization).toMatchObject({ method: 'awq', sym: false, notConverted: ['down_proj'] });
    expect(m('quantized/ct_w4a16_g32').quantization).toMatchObject({ method: 'compressed-tensors', sym: true, groupSize: 32 });
  });
});
