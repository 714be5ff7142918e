/**
 * Safetensors writer: single files and (sharded) HF checkpoints. Tensors are written one at a time (pass
 * `data` as a function to keep only one tensor in memory), into a temporary file renamed over the target,
 * so a failure never leaves a partial file. Header: compact JSON padded with spaces to a multiple of 8.
 */
import fs from 'node:fs';
import { makeOutputDir } from './output-dir.ts';
import path from 'node:path';
import { SafetensorsError, UsageError } from './errors.ts';
import { DTYPE_BYTES, bytesOf, isDType, rawArrayKind } from './dtype.ts';
import { createTemp, commitTemp, discardTemp, writeAll, writeFileAtomic, type TempFile } from './atomic.ts';
import { label, quote } from './safetensors-header.ts';
import { drainSteps } from './steps.ts';
import type { DType, RawArray } from './types.ts';

export type TensorData = RawArray | Uint8Array;

export interface TensorToWrite {
  name: string;
  dtype: DType;
  shape: number[];
  /** Elements in the dtype's RawArray kind, or raw little-endian bytes; a function is called when written. */
  data: TensorData | (() => TensorData);
}

export interface WriteOptions {
  /** Folder the tensors are read from: writing into it is refused (realpaths compared). */
  sourceDir?: string;
}

export interface CheckpointOptions extends WriteOptions {
  /** `__metadata__` of every file written (e.g. {format: 'pt'}). */
  metadata?: Record<string, string>;
  /** Shard when the tensor data exceeds this many bytes (default: never). */
  maxShardBytes?: number;
}

export interface CheckpointWritten {
  /** Absolute paths of the files written (shards first, then the index). */
  files: string[];
  /** Sum of the tensors' data bytes (the index's metadata.total_size). */
  totalSize: number;
  sharded: boolean;
}

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';
const SHARD_RE = /^model-\d{5}-of-\d{5}\.safetensors$/;
const shardName = (i: number, n: number) => `model-${String(i).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;

interface Planned {
  t: TensorToWrite;
  bytes: number;
}

/** Validates names, dtypes, shapes and metadata before anything is written. */
function plan(file: string, tensors: Iterable<TensorToWrite>, metadata: Record<string, string> | undefined): Planned[] {
  const fail = (what: string): never => {
    throw new SafetensorsError(`${label(file)}: ${what}`);
  };
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null) fail('metadata is not an object of strings');
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') fail(`metadata field ${quote(k)} is not a string`);
  }
  const seen = new Set<string>();
  const out: Planned[] = [];
  for (const t of tensors) {
    if (typeof t.name !== 'string' || t.name === '' || t.name === '__metadata__') fail(`invalid tensor name ${quote(String(t.name))}`);
    if (seen.has(t.name)) fail(`tensor ${quote(t.name)} given twice`);
    seen.add(t.name);
    if (!isDType(t.dtype)) fail(`tensor ${quote(t.name)} has unknown dtype ${quote(String(t.dtype))}`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(`tensor ${quote(t.name)} shape is not a list of non-negative integers`);
    const bytes = t.shape.reduce((p, d) => p * d, 1) * DTYPE_BYTES[t.dtype];
    if (!Number.isSafeInteger(bytes)) fail(`tensor ${quote(t.name)} shape [${t.shape.join(', ')}] is too large`);
    if (typeof t.data !== 'function') checkData(file, t, t.data, bytes);
    out.push({ t, bytes });
  }
  return out;
}

function checkData(file: string, t: TensorToWrite, data: TensorData, bytes: number): Uint8Array {
  const kind = Object.prototype.toString.call(data).slice(8, -1);
  const want = rawArrayKind(t.dtype);
  const fail = (what: string): never => {
    throw new SafetensorsError(`${label(file)}: tensor ${quote(t.name)} ${what}`);
  };
  if (kind !== want && kind !== 'Uint8Array') fail(`data is a ${kind}, not ${want} or Uint8Array bytes for ${t.dtype}`);
  const b = bytesOf(data);
  if (b.byteLength !== bytes) fail(`data has ${b.byteLength} bytes, shape [${t.shape.join(', ')}] x ${t.dtype} needs ${bytes}`);
  return b;
}

/** Header bytes (length prefix + JSON padded to a multiple of 8) for tensors laid out in order. */
function headerBytes(planned: Planned[], metadata: Record<string, string> | undefined): Uint8Array {
  // Built by hand: keeps tensor order (JS objects reorder integer-like keys) and any name, `__proto__` included.
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  let off = 0;
  for (const { t, bytes } of planned) {
    parts.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${off},${off + bytes}]}`);
    off += bytes;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = Buffer.alloc(8 + padded, 0x20);
  out.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(out, 8);
  return out;
}

/** Throws UsageError when `target` (a folder) is the folder being read from. */
export function refuseSourceDir(target: string, sourceDir: string | undefined, shown = target): void {
  if (sourceDir === undefined) return;
  const real = (p: string) => {
    try {
      const r = fs.realpathSync(p);
      return fs.statSync(r).isDirectory() ? r : path.dirname(r);
    } catch {
      return path.resolve(p);
    }
  };
  if (real(target) === real(sourceDir))
    throw new UsageError(`${label(shown)}: refusing to write into the folder the model is read from (${label(sourceDir)})`);
}

function writeTensors(tmp: TempFile, file: string, planned: Planned[], metadata: Record<string, string> | undefined): void {
  writeAll(tmp.fd, headerBytes(planned, metadata));
  for (const { t, bytes } of planned) {
    const data = typeof t.data === 'function' ? t.data() : t.data;
    writeAll(tmp.fd, checkData(file, t, data, bytes));
  }
}

/** A whole safetensors file in memory (small files, tests); `name` labels errors. */
export function serializeSafetensors(tensors: Iterable<TensorToWrite>, metadata?: Record<string, string>, name = '<memory>'): Uint8Array {
  const planned = plan(name, tensors, metadata);
  const parts = [headerBytes(planned, metadata)];
  for (const { t, bytes } of planned) parts.push(checkData(name, t, typeof t.data === 'function' ? t.data() : t.data, bytes));
  return Buffer.concat(parts);
}

/** Writes one safetensors file atomically. */
export function writeSafetensors(
  file: string,
  tensors: Iterable<TensorToWrite>,
  metadata?: Record<string, string>,
  opts: WriteOptions = {},
): void {
  drainSteps(writeSafetensorsSteps(file, tensors, metadata, opts));
}

/**
 * writeSafetensors one tensor per step (engine/steps.ts), so a caller can yield to the event loop between tensors
 * and see Ctrl-C; closing the generator early removes the temp file.
 */
export function* writeSafetensorsSteps(
  file: string,
  tensors: Iterable<TensorToWrite>,
  metadata?: Record<string, string>,
  opts: WriteOptions = {},
): Generator<void, void> {
  refuseSourceDir(path.dirname(path.resolve(file)), opts.sourceDir, file);
  const planned = plan(file, tensors, metadata);
  const tmp = createTemp(path.resolve(file));
  let committed = false;
  try {
    writeAll(tmp.fd, headerBytes(planned, metadata));
    for (const { t, bytes } of planned) {
      const data = typeof t.data === 'function' ? t.data() : t.data;
      writeAll(tmp.fd, checkData(file, t, data, bytes));
      yield;
    }
    commitTemp(tmp);
    committed = true;
  } finally {
    if (!committed) discardTemp(tmp);
  }
}

/**
 * Writes an HF checkpoint folder: `model.safetensors`, or, when the data exceeds maxShardBytes, shards
 * `model-0000i-of-0000n.safetensors` (filled greedily in the given order) plus `model.safetensors.index.json`.
 * All shards are written to temp files first and the index is renamed last; stale checkpoint files of the
 * other layout are then removed so the folder never mixes two checkpoints.
 */
export function writeCheckpoint(dir: string, tensors: Iterable<TensorToWrite>, opts: CheckpointOptions = {}): CheckpointWritten {
  refuseSourceDir(dir, opts.sourceDir);
  const { metadata, maxShardBytes } = opts;
  if (maxShardBytes !== undefined && !(Number.isSafeInteger(maxShardBytes) && maxShardBytes > 0))
    throw new UsageError(`${label(dir)}: maxShardBytes ${maxShardBytes} is not a positive integer`);
  const planned = plan(path.join(dir, SINGLE_FILE), tensors, metadata);
  const totalSize = planned.reduce((s, p) => s + p.bytes, 0);
  makeOutputDir(dir);
  const abs = path.resolve(dir);

  const groups: Planned[][] = [[]];
  let cur = 0;
  for (const p of planned) {
    const g = groups[groups.length - 1];
    if (maxShardBytes !== undefined && g.length > 0 && cur + p.bytes > maxShardBytes) {
      groups.push([p]);
      cur = p.bytes;
    } else {
      g.push(p);
      cur += p.bytes;
    }
  }
  const sharded = groups.length > 1;
  const names = sharded ? groups.map((_, i) => shardName(i + 1, groups.length)) : [SINGLE_FILE];
  const temps: TempFile[] = [];
  try {
    groups.forEach((g, i) => {
      const tmp = createTemp(path.join(abs, names[i]));
      temps.push(tmp);
      writeTensors(tmp, path.join(dir, names[i]), g, metadata);
    });
  } catch (e) {
    temps.forEach(discardTemp);
    throw e;
  }
  temps.forEach((t, i) => {
    try {
      commitTemp(t);
    } catch (e) {
      temps.slice(i).forEach(discardTemp);
      throw e;
    }
  });
  const files = names.map((n) => path.join(abs, n));
  if (sharded) {
    const weightMap: Record<string, string> = {};
    groups.forEach((g, i) => g.forEach((p) => Object.defineProperty(weightMap, p.t.name, { value: names[i], enumerable: true })));
    const index = JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2) + '\n';
    const target = path.join(abs, INDEX_FILE);
    writeFileAtomic(target, (fd) => writeAll(fd, Buffer.from(index, 'utf8')));
    files.push(target);
  }
  for (const f of fs.readdirSync(abs)) {
    const stale = sharded ? (f === SINGLE_FILE || SHARD_RE.test(f)) && !names.includes(f) : f === INDEX_FILE || SHARD_RE.test(f);
    if (stale) fs.rmSync(path.join(abs, f), { force: true });
  }
  return { files, totalSize, sharded };
}
