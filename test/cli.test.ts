import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { glassbox, oneLineError, onlyJson } from './helpers/cli-process.ts';
import { describeShared, projectRoot, sharedDir } from './helpers/shared.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'glassbox-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('glassbox inspect (CLI)', () => {
  it('--json prints exactly one JSON object with the report', async () => {
    const r = await glassbox('inspect', 'models/tiny-chat', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = onlyJson(r.stdout);
    expect(j).toMatchObject({
      family: 'llama',
      layers: 6,
      dModel: 192,
      heads: 6,
      kvHeads: 2,
      parameters: 2_755_008,
      chatTemplate: true,
      tiedEmbeddings: true,
    });
    expect(typeof j.backend).toBe('string');
    expect(j.tensors).toBeUndefined();
  });

  it('prints a readable summary and the tensor table', async () => {
    const r = await glassbox('inspect', 'models/tiny-chat', '--tensors');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^parameters\s+2,755,008$/m);
    expect(r.stdout).toMatch(/^heads\s+6 query \/ 2 kv, head_dim 32$/m);
    expect(r.stdout).toMatch(/^tokenizer\s+yes, chat template yes$/m);
    expect(r.stdout).toMatch(/^model\.embed_tokens\.weight\s+BF16\s+\[2048, 192\]/m);
    expect(r.stdout.match(/^model\.layers\.\d+\./gm)).toHaveLength(54);
  });

  it('has --help for the program and the command', async () => {
    const top = await glassbox('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^\s+inspect/m);
    const sub = await glassbox('inspect', '--help');
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('--json');
    expect(sub.stdout).toContain('--tensors');
  });

  it('bad input exits 1 with a one-line message naming the problem', async () => {
    expect(oneLineError(await glassbox('inspect', path.join(tmp, 'nope'), '--json'))).toMatch(/nope: model folder not found$/);
    const noHidden = path.join(tmp, 'no-hidden');
    mkdirSync(noHidden);
    writeFileSync(path.join(noHidden, 'config.json'), JSON.stringify({ model_type: 'llama', num_hidden_layers: 1 }));
    expect(oneLineError(await glassbox('inspect', noHidden))).toMatch(/config\.json: missing field hidden_size$/);
    const noWeights = path.join(tmp, 'no-weights');
    mkdirSync(noWeights);
    writeFileSync(
      path.join(noWeights, 'config.json'),
      JSON.stringify({ model_type: 'gpt2', n_embd: 8, n_layer: 1, n_head: 2, vocab_size: 10 }),
    );
    expect(oneLineError(await glassbox('inspect', noWeights, '--json'))).toMatch(/no weights/);
  });
});

describeShared('glassbox inspect on shared folders (CLI)', () => {
  it('a sharded and a quantized checkpoint', async () => {
    const l3 = await glassbox('inspect', path.join(sharedDir!, 'models/fixtures/llama3'), '--json', '--tensors');
    expect(l3.code, l3.stderr).toBe(0);
    const j = onlyJson(l3.stdout);
    expect(j).toMatchObject({
      layers: 3,
      tiedEmbeddings: false,
      tokenizer: false,
      weightFiles: ['model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'],
    });
    expect((j.tensors as unknown[]).length).toBe(30);
    const q = await glassbox('inspect', path.join(sharedDir!, 'models/quantized/gptq4_g32_actorder'));
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout).toMatch(/^quantization\s+gptq 4-bit, group 32, asymmetric, act-order, format gptq$/m);
  });
});
