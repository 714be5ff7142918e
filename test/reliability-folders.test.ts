/**
 * Model folders and symlinks (issue 10, medium): a sharded snapshot in the Hugging Face hub-cache layout (every
 * file a symlink to ../../blobs/<hash>) loads; a symlink that leaves the folder (or the cache's blobs/) is refused
 * by the loader and by every copy (orthogonalize, study --save-models), so outside files never reach an export.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { orthogonalizeFolder } from '../analysis/orthogonalize/orthogonalize-export.ts';
import { saveCompressedModel } from '../analysis/study/save-model.ts';
import { ModelFolderError } from '../engine/errors.ts';
import { openModelFolder } from '../engine/model-folder.ts';
import { writeCheckpoint } from '../engine/safetensors-writer.ts';
import { createReferenceBackend } from '../kernels/reference/backend.ts';
import { loadModel } from '../models/load.ts';
import { projectRoot } from './helpers/shared.ts';

const TINY = path.join(projectRoot, 'models/tiny-chat');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-rel-folders-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const SECRET = 'glassbox-test-secret-4c2f';

/** Builds `<root>/models--t--tiny/{blobs,snapshots/abc}` from the files of `staging`, every snapshot file a relative link. */
function hubCache(staging: string, name: string): { root: string; snapshot: string } {
  const root = path.join(tmp, name, 'models--t--tiny');
  const blobs = path.join(root, 'blobs');
  const snapshot = path.join(root, 'snapshots', 'abc');
  fs.mkdirSync(blobs, { recursive: true });
  fs.mkdirSync(snapshot, { recursive: true });
  for (const f of fs.readdirSync(staging)) {
    const bytes = fs.readFileSync(path.join(staging, f));
    const hash = createHash('sha256').update(bytes).digest('hex');
    fs.writeFileSync(path.join(blobs, hash), bytes);
    fs.symlinkSync(path.join('..', '..', 'blobs', hash), path.join(snapshot, f));
  }
  return { root, snapshot };
}

/** tiny-chat re-written as 3+ shards with an index, plus its config and tokenizer files. */
function shardedStaging(name: string): string {
  const staging = path.join(tmp, name);
  const src = openModelFolder(TINY);
  try {
    const tensors = src.weights
      .names()
      .map((n) => ({ name: n, dtype: src.weights.info(n).dtype, shape: src.weights.info(n).shape, data: () => src.weights.readRaw(n) }));
    const written = writeCheckpoint(staging, tensors, { maxShardBytes: 2_000_000, metadata: { format: 'pt' } });
    expect(written.sharded).toBe(true);
  } finally {
    src.close();
  }
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'])
    fs.copyFileSync(path.join(TINY, f), path.join(staging, f));
  return staging;
}

describe('hub-cache layout', () => {
  it('a sharded snapshot whose files are symlinks into ../../blobs loads and computes what the plain folder computes', async () => {
    const { snapshot } = hubCache(shardedStaging('staging1'), 'hub1');
    expect(fs.readdirSync(snapshot).every((f) => fs.lstatSync(path.join(snapshot, f)).isSymbolicLink())).toBe(true);
    const backend = createReferenceBackend();
    const [a, b] = [await loadModel(snapshot, { backend }), await loadModel(TINY, { backend })];
    const ids = [[1, 50, 60, 70]];
    expect(Array.from((await a.forward(ids)).logits)).toEqual(Array.from((await b.forward(ids)).logits));
  });

  it('a snapshot symlink that leaves the cache root (shard or tokenizer) is refused, naming the file', () => {
    const staging = shardedStaging('staging2');
    const { snapshot } = hubCache(staging, 'hub2');
    const outside = path.join(tmp, 'outside.bin');
    fs.writeFileSync(outside, SECRET);
    const shard = fs.readdirSync(snapshot).find((f) => f.startsWith('model-00001'))!;
    fs.rmSync(path.join(snapshot, shard));
    fs.symlinkSync(path.join('..', '..', '..', '..', 'outside.bin'), path.join(snapshot, shard));
    expect(() => openModelFolder(snapshot)).toThrow(/resolves outside the folder/);

    const { snapshot: s2 } = hubCache(staging, 'hub3');
    fs.rmSync(path.join(s2, 'tokenizer.json'));
    fs.symlinkSync(outside, path.join(s2, 'tokenizer.json'));
    expect(() => openModelFolder(s2)).toThrow(ModelFolderError);
    expect(() => openModelFolder(s2)).toThrow(/tokenizer\.json.*resolves outside the folder/);
  });
});

describe('copies never follow a symlink out of the source', () => {
  /** tiny-chat with an extra file that is a symlink to a "secret" outside the folder. */
  function withOutsideLink(name: string): string {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    for (const f of fs.readdirSync(TINY))
      if (fs.statSync(path.join(TINY, f)).isFile()) fs.copyFileSync(path.join(TINY, f), path.join(dir, f));
    const secret = path.join(tmp, `${name}-secret`);
    fs.writeFileSync(secret, SECRET);
    fs.symlinkSync(secret, path.join(dir, 'notes.txt'));
    return dir;
  }

  it('orthogonalize refuses a source file linking outside, writes nothing and leaves no temp folder', () => {
    const src = withOutsideLink('ortho-src');
    const parent = path.join(tmp, 'ortho-out');
    fs.mkdirSync(parent);
    const r = Float32Array.from({ length: 192 }, (_, i) => Math.cos(i));
    expect(() => orthogonalizeFolder(src, r, path.join(parent, 'out'))).toThrow(/notes\.txt.*resolves outside the folder/);
    expect(fs.readdirSync(parent)).toEqual([]);
  });

  it('study --save-models (saveCompressedModel) refuses it too', async () => {
    const src = withOutsideLink('save-src');
    const model = await loadModel(src, { backend: createReferenceBackend() });
    const out = path.join(tmp, 'save-out');
    expect(() => saveCompressedModel(src, model, out)).toThrow(/notes\.txt.*resolves outside the folder/);
    const leaked = fs.existsSync(out) ? fs.readdirSync(out).filter((f) => fs.readFileSync(path.join(out, f)).includes(SECRET)) : [];
    expect(leaked).toEqual([]);
  });
});
