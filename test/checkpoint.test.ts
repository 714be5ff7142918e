/**
 * Checkpoint folders: single and sharded writes/reads, index path safety, lazy shards, folder errors, the
 * writer's source-dir guard, and every shared model folder read whole and rewritten sharded bit-exactly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFolderError, SafetensorsError, UsageError } from '../engine/errors.ts';
import { bytesOf } from '../engine/dtype.ts';
import { openWeights } from '../engine/checkpoint.ts';
import { openSafetensors } from '../engine/safetensors-reader.ts';
import { writeCheckpoint, writeSafetensors, type TensorToWrite } from '../engine/safetensors-writer.ts';
import type { WeightSource } from '../engine/types.ts';
import { describeShared, projectRoot, sharedDir } from './helpers/shared.ts';
import { expectFailure, rawFile, tempDir } from './helpers/safetensors-files.ts';

let root = '';
beforeAll(() => {
  root = tempDir('ckpt');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const folder = (name: string) => {
  const d = path.join(root, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
};

const tensors = (): TensorToWrite[] => [
  { name: 'embed', dtype: 'BF16', shape: [4, 8], data: Uint16Array.from({ length: 32 }, (_, i) => 0x3f80 + i) },
  { name: 'layers.0.w', dtype: 'F32', shape: [8, 2], data: Float32Array.from({ length: 16 }, (_, i) => i - 8.5) },
  { name: 'layers.0.b', dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
  { name: 'layers.1.q', dtype: 'I32', shape: [3], data: new Int32Array([1, -2, 3]) },
  { name: 'scalar', dtype: 'F64', shape: [], data: new Float64Array([Math.PI]) },
];

function expectSame(w: WeightSource, ts: TensorToWrite[]) {
  expect(new Set(w.names())).toEqual(new Set(ts.map((t) => t.name)));
  for (const t of ts) {
    expect(w.info(t.name)).toMatchObject({ dtype: t.dtype, shape: t.shape });
    expect(Buffer.from(bytesOf(w.readRaw(t.name))).equals(Buffer.from(bytesOf(t.data as Uint8Array))), t.name).toBe(true);
  }
}

describe('writeCheckpoint / openWeights', () => {
  it('writes one model.safetensors under the shard limit and shards above it, re-reading bit-exactly', () => {
    const d = folder('rt');
    const single = writeCheckpoint(d, tensors(), { metadata: { format: 'pt' } });
    expect(single.sharded).toBe(false);
    expect(fs.readdirSync(d)).toEqual(['model.safetensors']);
    expectSame(openWeights(d), tensors());

    const out = writeCheckpoint(d, tensors(), { metadata: { format: 'pt' }, maxShardBytes: 70 });
    // Greedy in order under 70 bytes: [embed 64] [w 64 + b 4] [q 12 + scalar 8].
    expect(out.sharded).toBe(true);
    expect(fs.readdirSync(d).sort()).toEqual([
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
      'model.safetensors.index.json',
    ]);
    const index = JSON.parse(fs.readFileSync(path.join(d, 'model.safetensors.index.json'), 'utf8'));
    expect(index.metadata.total_size).toBe(64 + 64 + 4 + 12 + 8);
    expect(index.weight_map.scalar).toBe('model-00003-of-00003.safetensors');
    const w = openWeights(d);
    expectSame(w, tensors());
    expect(w.metadata()).toEqual({ format: 'pt' });
    expect(w.info('layers.0.w').file).toBe(path.resolve(d, 'model-00002-of-00003.safetensors'));
    expect(Array.from(w.readF32('embed').subarray(0, 2))).toEqual([1, 1.0078125]);
    expect(w.has('embed') && !w.has('nope')).toBe(true);
    expectFailure(() => w.info('nope'), ModelFolderError, [/rt: no tensor 'nope'/], d);
    w.close();

    // Back to a single file: the stale index and shards go, so the folder holds one checkpoint.
    writeCheckpoint(d, tensors().slice(0, 2));
    expect(fs.readdirSync(d)).toEqual(['model.safetensors']);
    expect(openWeights(d).names()).toEqual(['embed', 'layers.0.w']);
  });

  it('opens a single .safetensors file directly and ignores golden.safetensors (never globs)', () => {
    const d = folder('golden-only');
    writeSafetensors(path.join(d, 'golden.safetensors'), tensors());
    expectSame(openWeights(path.join(d, 'golden.safetensors')), tensors());
    expectFailure(() => openWeights(d), ModelFolderError, [/golden-only: no model\.safetensors or model\.safetensors\.index\.json/], d);
    expectFailure(() => openWeights(path.join(d, 'absent')), ModelFolderError, [/absent: no such file or folder/], d);
  });

  it('opens shards lazily: a corrupt shard fails only when one of its tensors is read', () => {
    const d = folder('lazy');
    writeCheckpoint(d, tensors(), { maxShardBytes: 70 });
    fs.writeFileSync(path.join(d, 'model-00003-of-00003.safetensors'), 'garbage!');
    const w = openWeights(d);
    expect(w.names()).toHaveLength(5);
    expect(w.has('scalar')).toBe(true);
    expect(Array.from(w.readF32('layers.0.b'))).toEqual([1, -2]);
    expectFailure(() => w.readRaw('scalar'), SafetensorsError, [/model-00003-of-00003\.safetensors: header length/], d);
  });
});

describe('bad folders: one-line errors naming the file and problem, nothing written', () => {
  const sharded = (name: string, weightMap: Record<string, string>) => {
    const d = folder(name);
    fs.writeFileSync(path.join(d, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    return d;
  };
  const shardBytes = rawFile({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, 1);

  it('index pointing outside the folder: .., absolute path, symlink out', () => {
    fs.writeFileSync(path.join(root, 'outside.safetensors'), shardBytes);
    let d = sharded('dotdot', { a: '../outside.safetensors' });
    expectFailure(
      () => openWeights(d),
      ModelFolderError,
      [/dotdot\/model\.safetensors\.index\.json/, /shard '\.\.\/outside\.safetensors' \(tensor 'a'\) leaves the folder/],
      root,
    );
    d = sharded('abs', { a: path.join(root, 'outside.safetensors') });
    expectFailure(() => openWeights(d), ModelFolderError, [/abs\/model\.safetensors\.index\.json/, /is an absolute path/], root);
    d = sharded('symlink', { a: 'model-00001-of-00001.safetensors' });
    fs.symlinkSync(path.join(root, 'outside.safetensors'), path.join(d, 'model-00001-of-00001.safetensors'));
    expectFailure(
      () => openWeights(d),
      ModelFolderError,
      [/symlink\/model\.safetensors\.index\.json/, /resolves outside the folder/],
      root,
    );
  });
  it('a symlink that stays inside the folder is fine', () => {
    const d = sharded('symlink-in', { a: 'link.safetensors' });
    fs.mkdirSync(path.join(d, 'blobs'));
    fs.writeFileSync(path.join(d, 'blobs', 'x'), shardBytes);
    fs.symlinkSync(path.join(d, 'blobs', 'x'), path.join(d, 'link.safetensors'));
    expect(Array.from(openWeights(d).readRaw('a') as Uint8Array)).toEqual([0]);
  });
  it('missing shard, tensor missing from its shard, malformed index', () => {
    let d = sharded('missing', { a: 'model-00001-of-00002.safetensors' });
    expectFailure(
      () => openWeights(d),
      ModelFolderError,
      [/missing\/model\.safetensors\.index\.json/, /shard 'model-00001-of-00002\.safetensors' \(tensor 'a'\) does not exist/],
      root,
    );
    d = sharded('notin', { a: 's.safetensors', b: 's.safetensors' });
    fs.writeFileSync(path.join(d, 's.safetensors'), shardBytes);
    const w = openWeights(d);
    // Reading 'a' (present) already checks the whole shard against the index.
    expectFailure(
      () => w.readRaw('a'),
      ModelFolderError,
      [/notin\/s\.safetensors: tensor 'b' listed in model\.safetensors\.index\.json is not in the shard/],
      root,
    );
    d = folder('badindex');
    fs.writeFileSync(path.join(d, 'model.safetensors.index.json'), '{"weight_map": [');
    expectFailure(() => openWeights(d), SafetensorsError, [/badindex\/model\.safetensors\.index\.json: not JSON/], root);
    fs.writeFileSync(path.join(d, 'model.safetensors.index.json'), '{"weight_map": {"a": 3}}');
    expectFailure(() => openWeights(d), SafetensorsError, [/weight_map entry 'a' is not a file name/], root);
  });
  it('writer refuses to write into the folder it reads from', () => {
    const d = folder('src');
    writeCheckpoint(d, tensors());
    const alias = path.join(root, 'src-alias');
    fs.symlinkSync(d, alias);
    expectFailure(
      () => writeCheckpoint(alias, tensors(), { sourceDir: d, maxShardBytes: 70 }),
      UsageError,
      [/src-alias: refusing to write into the folder the model is read from/],
      root,
    );
    expectFailure(() => writeCheckpoint(d, tensors(), { maxShardBytes: 0 }), UsageError, [/maxShardBytes 0/], root);
  });
  it('a failing tensor leaves no shard, temp file or index behind', () => {
    const d = folder('fail');
    const bad: TensorToWrite = { name: 'late', dtype: 'F32', shape: [2], data: () => new Float32Array(3) };
    expectFailure(
      () => writeCheckpoint(d, [...tensors(), bad], { maxShardBytes: 70 }),
      SafetensorsError,
      [/model-00003-of-00003\.safetensors: tensor 'late' data has 12 bytes/],
      root,
    );
    expect(fs.readdirSync(d)).toEqual([]);
  });
});

/** Every tensor read whole; parameter count from the headers. */
function readAll(dir: string): { params: number; bytes: number; w: WeightSource } {
  const w = openWeights(dir);
  let params = 0;
  let bytes = 0;
  for (const name of w.names()) {
    const info = w.info(name);
    const n = info.shape.reduce((p, d) => p * d, 1);
    expect(w.readRaw(name).byteLength).toBe(info.byteLength);
    expect(w.readF32(name).length).toBe(n);
    params += n;
    bytes += info.byteLength;
  }
  return { params, bytes, w };
}

function rewriteSharded(dir: string, maxShardBytes: number) {
  const src = openWeights(dir);
  const out = tempDir('reshard');
  try {
    const written = writeCheckpoint(
      out,
      src.names().map((name) => ({ ...src.info(name), data: () => src.readRaw(name) })),
      { metadata: src.metadata(), maxShardBytes, sourceDir: dir },
    );
    expect(written.sharded).toBe(true);
    const copy = openWeights(out);
    expect(copy.names().sort()).toEqual(src.names().sort());
    expect(copy.metadata()).toEqual(src.metadata());
    for (const name of src.names()) {
      expect(copy.info(name)).toMatchObject({ dtype: src.info(name).dtype, shape: src.info(name).shape });
      expect(Buffer.from(bytesOf(copy.readRaw(name))).equals(Buffer.from(bytesOf(src.readRaw(name)))), name).toBe(true);
    }
    copy.close();
  } finally {
    src.close();
    fs.rmSync(out, { recursive: true, force: true });
  }
}

describe('embedded model models/tiny-chat', () => {
  const dir = path.join(projectRoot, 'models/tiny-chat');
  it.skipIf(!fs.existsSync(path.join(dir, 'model.safetensors')))('reads every tensor and rewrites it sharded bit-exactly', () => {
    const { params, bytes } = readAll(dir);
    // models/tiny-chat/README.md: 2,755,008 parameters (tied embeddings: no lm_head tensor), all stored as bf16.
    expect(params).toBe(2_755_008);
    expect(bytes).toBe(2 * params);
    rewriteSharded(dir, 1 << 20);
  });
});

describeShared('shared model folders', () => {
  const base = path.join(sharedDir ?? '', 'models');
  const folders = sharedDir
    ? [
        'tiny-chat',
        'stories260k',
        ...['fixtures', 'quantized'].flatMap((g) =>
          fs
            .readdirSync(path.join(base, g), { withFileTypes: true })
            .filter((e) => e.isDirectory())
            .map((e) => `${g}/${e.name}`),
        ),
      ]
    : [];

  it.each(folders)('%s: every tensor reads, rewrites sharded bit-exactly', (name) => {
    const dir = path.join(base, name);
    const { params, bytes, w } = readAll(dir);
    // golden/dequantized tensors live in other files and must not leak into the weights.
    expect(w.names().some((n) => n === 'logits' || n.startsWith('hidden.'))).toBe(false);
    console.log(`[checkpoint] ${name}: ${w.names().length} tensors, ${params} parameters, ${bytes} bytes`);
    w.close();
    rewriteSharded(dir, Math.max(4096, Math.ceil(bytes / 3)));
  });

  it('every other safetensors file there (golden, dequantized) parses and reads whole', () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.safetensors') && !/^model(-\d{5}-of-\d{5})?\.safetensors$/.test(e.name)) files.push(p);
      }
    };
    walk(base);
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const st = openSafetensors(f);
      for (const t of st.tensors) expect(st.readF32(t.name).length).toBe(t.shape.reduce((p, d) => p * d, 1));
      st.close();
    }
  });

  it('llama3 is sharded with one layer split across its two shards; total_size matches the headers', () => {
    const dir = path.join(base, 'fixtures/llama3');
    const w = openWeights(dir);
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
    const files = new Map<string, Set<string>>();
    let total = 0;
    for (const name of w.names()) {
      const layer = /layers\.(\d+)\./.exec(name)?.[1];
      if (layer !== undefined) files.set(layer, (files.get(layer) ?? new Set()).add(w.info(name).file));
      total += w.info(name).byteLength;
    }
    expect([...files.values()].some((s) => s.size === 2)).toBe(true);
    expect(total).toBe(index.metadata.total_size);
    w.close();
  });
});
