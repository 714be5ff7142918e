import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openModelFolder } from '../engine/model-folder.ts';
import { ConfigError, GlassboxError, ModelFolderError } from '../engine/errors.ts';
import { describeShared, projectRoot, sharedDir } from './helpers/shared.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'glassbox-folder-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Minimal safetensors writer (zero-filled F32 tensors): header length u64 LE, JSON header, data. */
function writeZeros(file: string, tensors: Record<string, number[]>): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const [name, shape] of Object.entries(tensors)) {
    const bytes = 4 * shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: 'F32', shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const buf = Buffer.alloc(8 + json.length + off);
  buf.writeBigUInt64LE(BigInt(json.length), 0);
  buf.write(json, 8, 'latin1');
  writeFileSync(file, buf);
}

/** A Llama/Qwen2-layout folder: hidden 8, 2 heads (1 kv), mlp 16, vocab 10, given layers. */
function llamaTensors(layers: number, opts: { qkvBias?: boolean; lmHead?: boolean } = {}): Record<string, number[]> {
  const t: Record<string, number[]> = { 'model.embed_tokens.weight': [10, 8], 'model.norm.weight': [8] };
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    Object.assign(t, {
      [`${p}.input_layernorm.weight`]: [8],
      [`${p}.post_attention_layernorm.weight`]: [8],
      [`${p}.self_attn.q_proj.weight`]: [8, 8],
      [`${p}.self_attn.k_proj.weight`]: [4, 8],
      [`${p}.self_attn.v_proj.weight`]: [4, 8],
      [`${p}.self_attn.o_proj.weight`]: [8, 8],
      [`${p}.mlp.gate_proj.weight`]: [16, 8],
      [`${p}.mlp.up_proj.weight`]: [16, 8],
      [`${p}.mlp.down_proj.weight`]: [8, 16],
    });
    if (opts.qkvBias) for (const m of ['q', 'k', 'v']) t[`${p}.self_attn.${m}_proj.bias`] = [m === 'q' ? 8 : 4];
  }
  if (opts.lmHead) t['lm_head.weight'] = [10, 8];
  return t;
}
const llamaConfig = (over: Record<string, unknown> = {}) => ({
  model_type: 'llama',
  hidden_size: 8,
  intermediate_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  vocab_size: 10,
  tie_word_embeddings: true,
  ...over,
});

function folder(name: string, config: unknown, tensors: Record<string, number[]> | null): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  if (config !== undefined) writeFileSync(path.join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  if (tensors) writeZeros(path.join(dir, 'model.safetensors'), tensors);
  return dir;
}

const openError = (dir: string): Error => {
  try {
    openModelFolder(dir).close();
  } catch (e) {
    expect(e).toBeInstanceOf(GlassboxError);
    expect((e as Error).message).not.toContain('\n');
    return e as Error;
  }
  throw new Error(`expected ${dir} to fail`);
};

describe('openModelFolder', () => {
  it('opens the embedded tiny-chat model with names, weights and tokenizer', () => {
    const f = openModelFolder(path.join(projectRoot, 'models/tiny-chat'));
    try {
      expect(f.config.nLayers).toBe(6);
      expect(f.names.layers).toHaveLength(6);
      expect(f.names.layers[5]).toEqual({
        attnNorm: 'model.layers.5.input_layernorm',
        mlpNorm: 'model.layers.5.post_attention_layernorm',
        q: 'model.layers.5.self_attn.q_proj',
        k: 'model.layers.5.self_attn.k_proj',
        v: 'model.layers.5.self_attn.v_proj',
        qkv: null,
        o: 'model.layers.5.self_attn.o_proj',
        gate: 'model.layers.5.mlp.gate_proj',
        up: 'model.layers.5.mlp.up_proj',
        down: 'model.layers.5.mlp.down_proj',
      });
      expect([f.names.embed, f.names.finalNorm, f.names.lmHead, f.names.posEmbed, f.names.conv1d]).toEqual([
        'model.embed_tokens',
        'model.norm',
        null,
        null,
        false,
      ]);
      expect(f.weights.info('model.embed_tokens.weight').shape).toEqual([2048, 192]);
      expect(f.tokenizer?.postInstructionIds()).toEqual([2, 15, 4, 15]);
    } finally {
      f.close();
    }
  });

  it('accepts quantized weight suffixes and requires the biases the config implies', () => {
    const t = llamaTensors(2, { qkvBias: true });
    delete t['model.layers.1.self_attn.q_proj.weight'];
    t['model.layers.1.self_attn.q_proj.qweight'] = [1, 8];
    delete t['model.layers.0.mlp.up_proj.weight'];
    t['model.layers.0.mlp.up_proj.weight_packed'] = [16, 1];
    openModelFolder(folder('quant-suffixes', llamaConfig({ model_type: 'qwen2' }), t)).close();
    const noBias = llamaTensors(2);
    expect(openError(folder('qwen-no-bias', llamaConfig({ model_type: 'qwen2' }), noBias)).message).toMatch(
      /missing tensor model\.layers\.0\.self_attn\.q_proj\.bias$/,
    );
  });

  it('names the first missing tensor', () => {
    const t = llamaTensors(2);
    delete t['model.layers.1.mlp.up_proj.weight'];
    delete t['model.norm.weight'];
    const e = openError(folder('missing', llamaConfig(), t));
    expect(e).toBeInstanceOf(ModelFolderError);
    expect(e.message).toMatch(/missing tensor model\.layers\.1\.mlp\.up_proj\.weight$/);
    expect(openError(folder('fewer-layers', llamaConfig({ num_hidden_layers: 3 }), llamaTensors(2))).message).toContain(
      'missing tensor model.layers.2.input_layernorm.weight',
    );
    expect(openError(folder('untied', llamaConfig({ tie_word_embeddings: false }), llamaTensors(2))).message).toContain(
      'missing tensor lm_head.weight',
    );
    const withHead = openModelFolder(folder('untied-ok', llamaConfig({ tie_word_embeddings: false }), llamaTensors(2, { lmHead: true })));
    expect(withHead.names.lmHead).toBe('lm_head');
    withHead.close();
    // A tied model uses the embedding even when a duplicate lm_head is stored.
    const tiedDup = openModelFolder(folder('tied-dup', llamaConfig(), llamaTensors(2, { lmHead: true })));
    expect(tiedDup.names.lmHead).toBeNull();
    tiedDup.close();
  });

  it('reads gpt2 names with the transformer. prefix and ignores attn.bias buffers', () => {
    const t: Record<string, number[]> = {};
    const P = 'transformer.';
    Object.assign(t, { [`${P}wte.weight`]: [10, 8], [`${P}wpe.weight`]: [16, 8], [`${P}ln_f.weight`]: [8], [`${P}ln_f.bias`]: [8] });
    for (const [m, shape] of Object.entries({
      ln_1: [8],
      ln_2: [8],
      'attn.c_attn': [8, 24],
      'attn.c_proj': [8, 8],
      'mlp.c_fc': [8, 32],
      'mlp.c_proj': [32, 8],
    })) {
      t[`${P}h.0.${m}.weight`] = shape;
      t[`${P}h.0.${m}.bias`] = [shape[shape.length - 1]];
    }
    t[`${P}h.0.attn.bias`] = [1, 1, 16, 16];
    t[`${P}h.0.attn.masked_bias`] = [1];
    const cfg = { model_type: 'gpt2', n_embd: 8, n_layer: 1, n_head: 2, n_positions: 16, vocab_size: 10 };
    const f = openModelFolder(folder('gpt2-prefixed', cfg, t));
    expect(f.names).toMatchObject({
      embed: 'transformer.wte',
      posEmbed: 'transformer.wpe',
      finalNorm: 'transformer.ln_f',
      lmHead: null,
      conv1d: true,
    });
    expect(f.names.layers[0]).toEqual({
      attnNorm: 'transformer.h.0.ln_1',
      mlpNorm: 'transformer.h.0.ln_2',
      q: null,
      k: null,
      v: null,
      qkv: 'transformer.h.0.attn.c_attn',
      o: 'transformer.h.0.attn.c_proj',
      gate: null,
      up: 'transformer.h.0.mlp.c_fc',
      down: 'transformer.h.0.mlp.c_proj',
    });
    f.close();
    delete t[`${P}h.0.ln_2.bias`];
    expect(openError(folder('gpt2-no-ln-bias', cfg, t)).message).toMatch(/missing tensor transformer\.h\.0\.ln_2\.bias$/);
  });

  it('gives one-line errors for bad folders', () => {
    expect(openError(path.join(tmp, 'does-not-exist')).message).toMatch(/does-not-exist: model folder not found/);
    const file = path.join(tmp, 'a-file');
    writeFileSync(file, 'x');
    expect(openError(file).message).toContain('not a folder');
    const noConfig = folder('no-config', undefined, llamaTensors(1));
    expect(openError(noConfig)).toBeInstanceOf(ConfigError);
    expect(openError(noConfig).message).toMatch(/config\.json: file not found/);
    expect(openError(folder('bad-json', '{"model_type":', null)).message).toMatch(/config\.json: not valid JSON/);
    const noWeights = openError(folder('no-weights', llamaConfig(), null));
    expect(noWeights).toBeInstanceOf(ModelFolderError);
    expect(noWeights.message).toMatch(/no-weights: no weights \(expected model\.safetensors\.index\.json or model\.safetensors\)/);
    expect(openError(folder('bad-type', llamaConfig({ model_type: 'bert' }), llamaTensors(1))).message).toContain(
      'unsupported model_type "bert"',
    );
  });
});

describeShared('openModelFolder on every shared model folder', () => {
  const cases: Array<[string, { family: string; lmHead: string | null; tokenizer: boolean; layers: number }]> = [
    ['tiny-chat', { family: 'llama', lmHead: null, tokenizer: true, layers: 6 }],
    ['stories260k', { family: 'llama', lmHead: null, tokenizer: false, layers: 5 }],
    ['fixtures/qwen2', { family: 'qwen2', lmHead: null, tokenizer: false, layers: 2 }],
    ['fixtures/llama3', { family: 'llama', lmHead: 'lm_head', tokenizer: false, layers: 3 }],
    ['fixtures/gpt2', { family: 'gpt2', lmHead: null, tokenizer: false, layers: 2 }],
    ['fixtures/llama_f16', { family: 'llama', lmHead: 'lm_head', tokenizer: false, layers: 2 }],
    ['quantized/gptq4_g32_actorder', { family: 'qwen2', lmHead: null, tokenizer: false, layers: 2 }],
    ['quantized/gptq8_g128_sym', { family: 'qwen2', lmHead: null, tokenizer: false, layers: 2 }],
    ['quantized/awq4_g32', { family: 'llama', lmHead: 'lm_head', tokenizer: false, layers: 2 }],
    ['quantized/ct_w4a16_g32', { family: 'llama', lmHead: 'lm_head', tokenizer: false, layers: 2 }],
  ];
  it.each(cases)('%s', (rel, want) => {
    const f = openModelFolder(path.join(sharedDir!, 'models', rel));
    try {
      expect(f.config.family).toBe(want.family);
      expect(f.names.lmHead).toBe(want.lmHead);
      expect(f.tokenizer !== null).toBe(want.tokenizer);
      expect(f.names.layers).toHaveLength(want.layers);
      // Every module prefix the names map hands out resolves to stored tensors.
      for (const l of f.names.layers) {
        for (const m of [l.q, l.k, l.v, l.qkv, l.o, l.gate, l.up, l.down].filter((x): x is string => x !== null)) {
          expect(
            ['.weight', '.qweight', '.weight_packed'].some((s) => f.weights.has(m + s)),
            m,
          ).toBe(true);
        }
      }
      if (want.family === 'gpt2') expect(f.names).toMatchObject({ embed: 'wte', posEmbed: 'wpe', finalNorm: 'ln_f', conv1d: true });
    } finally {
      f.close();
    }
  });
});
