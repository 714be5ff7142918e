/**
 * Checkpoint access: an HF model folder (`model.safetensors`, or `model.safetensors.index.json` + shards) or a
 * single .safetensors file, as a lazy WeightSource. Never globs *.safetensors: model folders also hold
 * golden.safetensors / dequantized.safetensors. Shards open (header only) on first use.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ModelFolderError, SafetensorsError } from './errors.ts';
import { toF32 } from './dtype.ts';
import { assertFiniteTensor } from './finite-scan.ts';
import { openSafetensors, type SafetensorsFile } from './safetensors-reader.ts';
import { label, quote, MAX_HEADER_BYTES } from './safetensors-header.ts';
import { INDEX_FILE, SINGLE_FILE } from './safetensors-writer.ts';
import { resolveFolderFile } from './folder-files.ts';
import type { RawArray, TensorInfo, WeightSource } from './types.ts';

export { INDEX_FILE, SINGLE_FILE };

/** Tensor name -> shard file name (relative to the folder), validated to stay inside the folder. */
export function readIndex(dir: string): Map<string, string> {
  const indexPath = path.join(dir, INDEX_FILE);
  const f = label(indexPath);
  let text: string;
  try {
    const size = fs.statSync(indexPath).size;
    if (size > MAX_HEADER_BYTES) throw new SafetensorsError(`${f}: ${size} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    text = fs.readFileSync(indexPath, 'utf8');
  } catch (e) {
    if (e instanceof SafetensorsError) throw e;
    throw new SafetensorsError(`${f}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`${f}: not JSON (${(e as Error).message.replace(/[\u0000-\u001f\u2028\u2029]/g, ' ')})`);
  }
  const wm = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) throw new SafetensorsError(`${f}: weight_map is not an object`);
  const map = new Map<string, string>();
  const checked = new Set<string>();
  for (const [name, shard] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard === '') throw new SafetensorsError(`${f}: weight_map entry ${quote(name)} is not a file name`);
    map.set(name, shard);
    if (checked.has(shard)) continue;
    checked.add(shard);
    // Inside the folder, or (hub cache) inside the cache's blobs/: engine/folder-files.ts.
    resolveFolderFile(dir, shard, indexPath, `shard ${quote(shard)} (tensor ${quote(name)})`);
  }
  return map;
}

/** Opens a model folder's weights, or a single .safetensors file. */
export function openWeights(dirOrFile: string): WeightSource {
  let st: fs.Stats;
  try {
    st = fs.statSync(dirOrFile);
  } catch {
    throw new ModelFolderError(`${label(dirOrFile)}: no such file or folder`);
  }
  if (st.isFile()) return singleFile(dirOrFile, dirOrFile);
  if (fs.existsSync(path.join(dirOrFile, INDEX_FILE))) return sharded(dirOrFile, readIndex(dirOrFile));
  const single = path.join(dirOrFile, SINGLE_FILE);
  if (fs.existsSync(single)) return singleFile(dirOrFile, single);
  throw new ModelFolderError(`${label(dirOrFile)}: no ${SINGLE_FILE} or ${INDEX_FILE}`);
}

/** WeightSource methods over a name -> opened-file lookup. */
function source(
  where: string,
  names: () => string[],
  has: (name: string) => boolean,
  fileOf: (name: string) => SafetensorsFile | null,
  first: () => SafetensorsFile | null,
  close: () => void,
): WeightSource {
  const get = (name: string): SafetensorsFile => {
    const f = fileOf(name);
    if (!f) throw new ModelFolderError(`${label(where)}: no tensor ${quote(name)}`);
    return f;
  };
  return {
    path: where,
    names,
    has,
    info: (name): TensorInfo => get(name).info(name),
    // Every weight read is scanned for NaN/Inf (engine/finite-scan.ts): a bad checkpoint fails at load naming the
    // tensor, instead of wrong tokens later (the activation guard cannot see e.g. an Inf in a masked-out row).
    readRaw: (name): RawArray => {
      const f = get(name);
      return assertFiniteTensor(f.info(name).dtype, f.readRaw(name), name, f.path);
    },
    readF32: (name) => {
      const f = get(name);
      const dtype = f.info(name).dtype;
      return toF32(dtype, assertFiniteTensor(dtype, f.readRaw(name), name, f.path));
    },
    metadata: () => ({ ...(first()?.metadata ?? {}) }),
    close,
  };
}

function singleFile(where: string, file: string): WeightSource {
  // The header is read and validated now; after close() the file reopens on demand.
  let st: SafetensorsFile | null = openSafetensors(file);
  const open = () => (st ??= openSafetensors(file));
  return source(
    where,
    () => open().tensors.map((t) => t.name),
    (name) => open().has(name),
    (name) => (open().has(name) ? open() : null),
    open,
    () => {
      st?.close();
      st = null;
    },
  );
}

function sharded(dir: string, weightMap: Map<string, string>): WeightSource {
  const opened = new Map<string, SafetensorsFile>();
  const shards = [...new Set(weightMap.values())].sort();
  const openShard = (shard: string): SafetensorsFile => {
    const have = opened.get(shard);
    if (have) return have;
    const file = openSafetensors(path.join(dir, shard));
    // Check the whole shard against the index at once, so which tensor is read first does not change the error.
    for (const [name, s] of weightMap)
      if (s === shard && !file.has(name)) {
        file.close();
        throw new ModelFolderError(`${label(path.join(dir, shard))}: tensor ${quote(name)} listed in ${INDEX_FILE} is not in the shard`);
      }
    opened.set(shard, file);
    return file;
  };
  return source(
    dir,
    () => [...weightMap.keys()],
    (name) => weightMap.has(name),
    (name) => {
      const shard = weightMap.get(name);
      return shard === undefined ? null : openShard(shard);
    },
    () => (shards.length ? openShard(shards[0]) : null),
    () => {
      for (const f of opened.values()) f.close();
      opened.clear();
    },
  );
}
