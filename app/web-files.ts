/**
 * FolderSource for the web app's engine worker: a folder served over HTTP (fetched whole, up front, because the
 * reader is synchronous) or the user's own folder as File objects (read lazily with FileReaderSync, which only
 * Workers have). Only the files a model folder may use are requested: never a listing, never a glob.
 */
import { ModelFolderError } from '../engine/errors.ts';
import { memoryFolder, safeRelativeName, type FolderSource } from '../engine/folder-source.ts';
import type { ByteSource } from '../engine/safetensors-reader.ts';

/** Small files a model folder may hold besides its weights (absent ones are skipped). */
export const SIDE_FILES = [
  'config.json',
  'quantize_config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
];
const INDEX = 'model.safetensors.index.json';
/** Written by `glassbox app`'s server and by build:app next to the model (cli/app-server.ts). */
const FILE_LIST = '.glassbox-files.json';
const SINGLE = 'model.safetensors';

async function fetchBytes(url: string, required: boolean): Promise<Uint8Array | null> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new ModelFolderError(`${url}: cannot fetch (${(e as Error).message})`);
  }
  if (res.status === 404 && !required) return null;
  if (!res.ok) throw new ModelFolderError(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Fetches a model folder served at `base` (ending in /): side files, then the index and its shards, or model.safetensors. */
export async function fetchFolder(base: string, onProgress?: (what: string) => void): Promise<FolderSource> {
  const root = base.endsWith('/') ? base : `${base}/`;
  const files = new Map<string, Uint8Array>();
  // The server (and build:app's copy) list the folder's files, so that absent optional files are not requested.
  const listed = await fetchBytes(root + FILE_LIST, false);
  const present = listed ? new Set(JSON.parse(new TextDecoder().decode(listed)) as string[]) : null;
  const wanted = (n: string) => present === null || present.has(n);
  const side = SIDE_FILES.filter(wanted);
  const got = await Promise.all(side.map((n) => fetchBytes(root + n, n === 'config.json')));
  side.forEach((n, i) => got[i] && files.set(n, got[i]!));
  const index = wanted(INDEX) ? await fetchBytes(root + INDEX, false) : null;
  let weights = [SINGLE];
  if (index) {
    files.set(INDEX, index);
    const wm = (JSON.parse(new TextDecoder().decode(index)) as { weight_map?: Record<string, unknown> }).weight_map ?? {};
    weights = [...new Set(Object.values(wm).filter((v): v is string => typeof v === 'string' && safeRelativeName(v)))];
  }
  for (const w of weights) {
    onProgress?.(`fetching ${w}`);
    files.set(w, (await fetchBytes(root + w, true))!);
  }
  return memoryFolder(root.replace(/\/$/, ''), files);
}

/** The slice of the Worker-only FileReaderSync used here (the project's type check has no WebWorker library). */
interface SyncReader {
  readAsArrayBuffer(b: Blob): ArrayBuffer;
  readAsText(b: Blob): string;
}
const syncReader = (): SyncReader => new (globalThis as unknown as { FileReaderSync: new () => SyncReader }).FileReaderSync();

/**
 * A folder the user picked or dropped: files keyed by their path relative to the folder. Names that are not
 * plain relative paths are dropped, so a shard name in an index cannot reach outside what the user gave.
 */
export function fileListFolder(label: string, entries: Array<{ name: string; file: Blob }>): FolderSource {
  const byName = new Map<string, Blob>();
  for (const e of entries) if (safeRelativeName(e.name)) byName.set(e.name, e.file);
  const get = (name: string): Blob => {
    const f = byName.get(name);
    if (!f) throw new ModelFolderError(`${label}/${name}: file not found`);
    return f;
  };
  return {
    label,
    has: (name) => byName.has(name),
    readText: (name) => syncReader().readAsText(get(name)),
    open: (name): ByteSource => {
      const f = get(name);
      const reader = syncReader();
      return {
        size: f.size,
        read(position, length) {
          if (position < 0 || position + length > f.size)
            throw new RangeError(`${label}/${name}: read [${position}, ${position + length}) outside ${f.size} bytes`);
          return new Uint8Array(reader.readAsArrayBuffer(f.slice(position, position + length)));
        },
        close() {},
      };
    },
  };
}
