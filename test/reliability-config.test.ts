/**
 * Config sizes are bounded by the tensors present before anything is allocated (issue 10, medium/low): absurd
 * layer counts, head sizes and widths, short position tables, wrong norm/embedding shapes, duplicate tensor names,
 * tensors too large to read, and a tokenizer larger than the model's vocabulary all fail at open time, fast, in one
 * typed line naming the field or tensor.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, GlassboxError, ModelFolderError, SafetensorsError } from '../engine/errors.ts';
import { inspectModel } from '../engine/inspect.ts';
import { openModelFolder } from '../engine/model-folder.ts';
import { openSource, parseSafetensors, type ByteSource } from '../engine/safetensors-reader.ts';
import { writeSafetensors } from '../engine/safetensors-writer.ts';
import { createReferenceBackend } from '../kernels/reference/backend.ts';
import { loadModel } from '../models/load.ts';
import { rawFile } from './helpers/safetensors-files.ts';
import { projectRoot, sharedDir } from './helpers/shared.ts';

const TINY = path.join(projectRoot, 'models/tiny-chat');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-rel-config-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** A copy of `src` with config.json fields replaced and, optionally, tensors replaced. */
function variant(
  src: string,
  config: Record<string, unknown>,
  tensors?: (name: string, data: Float32Array, shape: number[]) => { data: Float32Array; shape: number[] } | null,
): string {
  const dir = path.join(tmp, `v${n++}`);
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(src))
    if (fs.statSync(path.join(src, f)).isFile() && f !== 'golden.safetensors') fs.copyFileSync(path.join(src, f), path.join(dir, f));
  const cfg = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, ...config }));
  if (tensors) {
    const f = openModelFolder(src);
    const out = f.weights.names().flatMap((name) => {
      const data = f.weights.readF32(name);
      const r = tensors(name, data, f.weights.info(name).shape);
      return r === null ? [] : [{ name, dtype: 'F32' as const, shape: r.shape, data: r.data }];
    });
    f.close();
    fs.rmSync(path.join(dir, 'model.safetensors'));
    writeSafetensors(path.join(dir, 'model.safetensors'), out);
  }
  return dir;
}

/** Runs `fn`, expecting a one-line GlassboxError matching `re`, within `ms` milliseconds. */
async function refusedFast(fn: () => unknown, re: RegExp, ms = 3000): Promise<void> {
  const t0 = performance.now();
  let err: unknown = null;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an error').toBeInstanceOf(GlassboxError);
  expect((err as Error).message).toMatch(re);
  expect((err as Error).message).not.toMatch(/\n/);
  expect(performance.now() - t0).toBeLessThan(ms);
}

describe('config sizes bounded by the tensors present', () => {
  it('num_hidden_layers 1e9: inspect refuses at once (no billion-entry name table)', async () => {
    const dir = variant(TINY, { num_hidden_layers: 1e9 });
    await refusedFast(() => inspectModel(dir), /num_hidden_layers 1000000000 exceeds the \d+ tensors/);
  });

  it('head_dim 1e9 and hidden_size 1e15: refused at open time naming the tensor, before any allocation', async () => {
    const hd = variant(TINY, { head_dim: 1e9 });
    await refusedFast(
      () => loadModel(hd, { backend: createReferenceBackend() }),
      /q_proj\.weight' has shape \[192, 192\], config\.json num_attention_heads x head_dim/,
    );
    const hs = variant(TINY, { hidden_size: 1e15 });
    await refusedFast(
      () => inspectModel(hs),
      /embed_tokens\.weight' has shape \[2048, 192\], config\.json vocab_size, hidden_size imply \[2048, 1000000000000000\]/,
    );
  });

  it('norm weights longer or shorter than d_model, and a rank-1 embedding, are refused naming the tensor', async () => {
    const longer = variant(TINY, {}, (name, data, shape) =>
      name === 'model.norm.weight' ? { data: Float32Array.from([...data, 1]), shape: [shape[0] + 1] } : { data, shape },
    );
    await refusedFast(() => openModelFolder(longer), /model\.norm\.weight' has shape \[193\], config\.json hidden_size imply \[192\]/);
    const shorter = variant(TINY, {}, (name, data, shape) =>
      name === 'model.layers.2.input_layernorm.weight' ? { data: data.slice(1), shape: [shape[0] - 1] } : { data, shape },
    );
    await refusedFast(() => openModelFolder(shorter), /layers\.2\.input_layernorm\.weight' has shape \[191\]/);
    const flat = variant(TINY, {}, (name, data, shape) =>
      name === 'model.embed_tokens.weight' ? { data, shape: [shape[0] * shape[1]] } : { data, shape },
    );
    await refusedFast(() => openModelFolder(flat), /embed_tokens\.weight' has rank 1/);
  });

  it.runIf(sharedDir)('GPT-2: a wpe shorter than n_positions is refused at load, not mid-generation', async () => {
    const dir = variant(path.join(sharedDir!, 'models/fixtures/gpt2'), { n_positions: 200 });
    await refusedFast(() => openModelFolder(dir), /wpe\.weight' has 128 positions, config\.json n_positions is 200/);
  });

  it('a tokenizer with ids beyond vocab_size is refused at load (not when decoding)', async () => {
    const dir = variant(TINY, {});
    const tok = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
    tok.added_tokens.push({
      id: 4096,
      content: '<|extra|>',
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    });
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tok));
    await refusedFast(() => openModelFolder(dir), /tokenizer\.json.*4097 ids.*vocab_size 2048/);
  });
});

describe('safetensors headers', () => {
  it('duplicate tensor names in a header are refused (JSON.parse would keep the last silently)', () => {
    const text = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    expect(() => parseSafetensors(rawFile(null, 8, text), 'dup.safetensors')).toThrow(SafetensorsError);
    expect(() => parseSafetensors(rawFile(null, 8, text), 'dup.safetensors')).toThrow(/dup\.safetensors: tensor 'a' appears twice/);
  });

  it('a tensor over the 4 GiB read limit is a one-line SafetensorsError, not a RangeError', () => {
    const big = 5 * 2 ** 30;
    const header = Buffer.from(JSON.stringify({ huge: { dtype: 'U8', shape: [big], data_offsets: [0, big] } }));
    const src: ByteSource = {
      size: 8 + header.byteLength + big,
      read(position, length) {
        if (position === 0) {
          const b = new Uint8Array(8);
          new DataView(b.buffer).setBigUint64(0, BigInt(header.byteLength), true);
          return b;
        }
        if (position === 8) return new Uint8Array(header);
        return new Uint8Array(length); // throws RangeError for 5 GiB: must not be reached
      },
      close() {},
    };
    const f = openSource(src, 'big.safetensors', 'big.safetensors');
    expect(() => f.readRaw('huge')).toThrow(SafetensorsError);
    expect(() => f.readRaw('huge')).toThrow(/big\.safetensors: tensor 'huge' is 5368709120 bytes/);
  });
});

describe('context limits (max_position_embeddings / n_positions)', () => {
  it('tiny-chat (256 positions): a 257-token forward and a prompt + max tokens over the limit are refused; KV never allocated', async () => {
    const model = await loadModel(TINY, { backend: createReferenceBackend(), retainWeights: false });
    const long = Array.from({ length: 257 }, (_, i) => 10 + (i % 100));
    await refusedFast(() => model.forward([long]), /257 tokens exceeds max_position_embeddings 256/);
    await refusedFast(() => model.generate([[1, 2, 3]], { maxNewTokens: 1e8 }), /100000003 tokens exceeds max_position_embeddings 256/);
  });

  it('allowLongContext lets a RoPE model go past it; the KV cache is still bounded by memory', async () => {
    const model = await loadModel(TINY, { backend: createReferenceBackend(), retainWeights: false, allowLongContext: true });
    const r = await model.generate([Array.from({ length: 255 }, (_, i) => 10 + (i % 100))], { maxNewTokens: 3 });
    expect(r.tokens[0].length).toBeGreaterThan(0);
    await refusedFast(() => model.generate([[1, 2, 3]], { maxNewTokens: 1e12 }), /KV cache .* bytes/);
  });

  it.runIf(sharedDir)('GPT-2 (learned positions) can never go past n_positions', async () => {
    await refusedFast(
      () => loadModel(path.join(sharedDir!, 'models/fixtures/gpt2'), { backend: createReferenceBackend(), allowLongContext: true }),
      /allowLongContext.*gpt2.*learned position/i,
    );
  });
});

it('ModelFolderError and ConfigError are GlassboxErrors (one-line contract)', () => {
  expect(new ModelFolderError('x')).toBeInstanceOf(GlassboxError);
  expect(new ConfigError('x')).toBeInstanceOf(GlassboxError);
});
