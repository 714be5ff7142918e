/**
 * Model folders whose files are not on Node's file system (the web app's fetched or picked folders): FolderSource in
 * memory open to the same model as the path does, and the same bad folders are refused with messages naming the file.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, ModelFolderError } from '../engine/errors.ts';
import { memoryFolder, safeRelativeName } from '../engine/folder-source.ts';
import { openFolderSource } from '../engine/open-folder-source.ts';
import { createReferenceBackend } from '../kernels/reference/backend.ts';
import { loadModel, loadModelFromFolder } from '../models/load.ts';

const DIR = 'models/tiny-chat';
const tinyFiles = () =>
  new Map(
    fs
      .readdirSync(DIR)
      .filter((f) => fs.statSync(`${DIR}/${f}`).isFile())
      .map((f) => [f, new Uint8Array(fs.readFileSync(`${DIR}/${f}`))]),
  );
const text = (s: string) => new TextEncoder().encode(s);

describe('FolderSource', () => {
  it('a folder in memory loads the same model as the path: same tokens, same logits', async () => {
    const mem = await loadModelFromFolder(openFolderSource(memoryFolder('mem', tinyFiles())), { backend: createReferenceBackend() });
    const disk = await loadModel(DIR, { backend: createReferenceBackend() });
    const ids = disk.tokenizer!.encodeChat('How do I bake bread?');
    expect(mem.tokenizer!.encodeChat('How do I bake bread?')).toEqual(ids);
    const a = await mem.forward([ids], { logits: 'last' });
    const b = await disk.forward([ids], { logits: 'last' });
    expect(Array.from(a.logits)).toEqual(Array.from(b.logits));
    mem.dispose();
    disk.dispose();
  });

  it('a sharded index in memory resolves its shard', () => {
    const files = tinyFiles();
    const st = files.get('model.safetensors')!;
    files.delete('model.safetensors');
    const header = JSON.parse(
      new TextDecoder().decode(st.subarray(8, 8 + Number(new DataView(st.buffer, st.byteOffset).getBigUint64(0, true)))),
    );
    const wm = Object.fromEntries(
      Object.keys(header)
        .filter((k) => k !== '__metadata__')
        .map((k) => [k, 'part-1.safetensors']),
    );
    files.set('part-1.safetensors', st);
    files.set('model.safetensors.index.json', text(JSON.stringify({ weight_map: wm })));
    const folder = openFolderSource(memoryFolder('sharded', files));
    expect(folder.weights.readF32('model.norm.weight').length).toBe(folder.config.dModel);
    folder.close();
  });

  const withIndex = (shard: string) => {
    const files = tinyFiles();
    files.delete('model.safetensors');
    files.set('model.safetensors.index.json', text(JSON.stringify({ weight_map: { 'model.norm.weight': shard } })));
    return memoryFolder('bad', files);
  };
  it.each(['../model.safetensors', '/etc/passwd', 'a/../../x', 'C:\\x', './model.safetensors'])('refuses the shard name %s', (shard) => {
    expect(() => openFolderSource(withIndex(shard))).toThrow(ModelFolderError);
    expect(() => openFolderSource(withIndex(shard))).toThrow(/bad\/model\.safetensors\.index\.json: shard .* leaves the folder/);
  });

  it('names what is missing or malformed', () => {
    const noShard = withIndex('missing.safetensors');
    expect(() => openFolderSource(noShard)).toThrow(/shard 'missing.safetensors' .* does not exist/);
    const noConfig = tinyFiles();
    noConfig.delete('config.json');
    expect(() => openFolderSource(memoryFolder('nc', noConfig))).toThrow(ConfigError);
    expect(() => openFolderSource(memoryFolder('nc', noConfig))).toThrow('nc/config.json: file not found');
    const badJson = tinyFiles();
    badJson.set('config.json', text('{'));
    expect(() => openFolderSource(memoryFolder('bj', badJson))).toThrow(/^bj\/config\.json: not valid JSON/);
    const noWeights = tinyFiles();
    noWeights.delete('model.safetensors');
    expect(() => openFolderSource(memoryFolder('nw', noWeights))).toThrow(/nw: no weights/);
    // A tokenizer that can produce an id past the embedding (an added token at id 5000; vocab_size is 2048).
    const bigTok = tinyFiles();
    const tj = JSON.parse(new TextDecoder().decode(bigTok.get('tokenizer.json')!));
    tj.added_tokens.push({
      id: 5000,
      content: '<|extra|>',
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    });
    bigTok.set('tokenizer.json', text(JSON.stringify(tj)));
    expect(() => openFolderSource(memoryFolder('bt2', bigTok))).toThrow(
      'bt2/tokenizer.json: the tokenizer has 5001 ids, more than config.json vocab_size 2048',
    );
    const badTok = tinyFiles();
    badTok.set('tokenizer_config.json', text('[]'));
    expect(() => openFolderSource(memoryFolder('bt', badTok))).toThrow('bt/tokenizer_config.json: expected a JSON object');
  });

  it('safeRelativeName accepts plain relative names only', () => {
    for (const ok of ['model.safetensors', 'sub/model-00001.safetensors', '%2e%2e']) expect(safeRelativeName(ok), ok).toBe(true);
    for (const bad of ['', '..', '.', 'a/..', '../a', '/a', 'a//b', 'a\\b', 'C:x', 'a\0b', 'a/./b'])
      expect(safeRelativeName(bad), bad).toBe(false);
  });
});
