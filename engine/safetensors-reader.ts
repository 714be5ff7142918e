/**
 * Safetensors reader: lazy, validating, positioned reads (no whole-file buffer; files over 2 GiB work).
 *
 * Layout: u64 LE header length N, N bytes of UTF-8 JSON (may be padded with trailing spaces), then the data
 * region; each tensor's `data_offsets` [begin, end) are relative to the data region and must tile it exactly.
 * Header parsing lives in safetensors-header.ts. Every failure is a SafetensorsError naming the file (and tensor/field).
 */
import fs from 'node:fs';
import path from 'node:path';
import { SafetensorsError } from './errors.ts';
import { rawFromBytes, toF32 } from './dtype.ts';
import { label, parseHeader, parseHeaderLength, quote, type HeaderEntry, type ParsedHeader } from './safetensors-header.ts';
import type { RawArray, TensorInfo } from './types.ts';

// ---------------------------------------------------------------------------------------------- reading

/** Where a safetensors file's bytes come from: a file descriptor, or memory (tests, fuzzing). */
export interface ByteSource {
  readonly size: number;
  /** Exactly `length` bytes at `position`, or throws. */
  read(position: number, length: number): Uint8Array;
  close(): void;
}

/** An opened safetensors file: header parsed, tensors read on demand. */
export interface SafetensorsFile {
  /** The path it was opened from (or the in-memory label). */
  readonly path: string;
  readonly tensors: TensorInfo[];
  readonly metadata: Record<string, string>;
  has(name: string): boolean;
  /** Throws SafetensorsError naming the tensor when absent. */
  info(name: string): TensorInfo;
  /** The tensor's bytes (a fresh copy). */
  readBytes(name: string): Uint8Array;
  /** The tensor's elements in their own dtype (a fresh, aligned copy). */
  readRaw(name: string): RawArray;
  /** The tensor widened to f32 (see toF32 in engine/dtype.ts). */
  readF32(name: string): Float32Array;
  close(): void;
}

/** The largest tensor read into one array (Node's Buffer / typed-array limit, 4 GiB). */
export const MAX_TENSOR_BYTES = 2 ** 32;

// One readSync call moves at most 2 GiB - 1; stay well below it.
const READ_CHUNK = 1 << 30;

export function fileSource(file: string): ByteSource {
  const f = label(file);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new SafetensorsError(`${f}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let open = true;
  let size: number;
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new SafetensorsError(`${f}: not a regular file`);
    size = st.size;
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return {
    size,
    read(position, length) {
      if (!open) throw new SafetensorsError(`${f}: read after close`);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = fs.readSync(fd, out, done, Math.min(READ_CHUNK, length - done), position + done);
        if (n === 0) throw new SafetensorsError(`${f}: file ended at byte ${position + done} (truncated since it was opened?)`);
        done += n;
      }
      return out;
    },
    close() {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}

/** A ByteSource over bytes in memory (copies on read, like the file source). */
export function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.byteLength,
    read(position, length) {
      if (position < 0 || position + length > bytes.byteLength)
        throw new RangeError(`read [${position}, ${position + length}) outside ${bytes.byteLength} bytes`);
      return bytes.slice(position, position + length);
    },
    close() {},
  };
}

/** Opens a safetensors file: reads and validates only its header. */
export function openSafetensors(file: string): SafetensorsFile {
  return openSource(fileSource(file), file, path.resolve(file));
}

/** Parses safetensors bytes held in memory; `name` labels errors. */
export function parseSafetensors(bytes: Uint8Array, name = '<memory>'): SafetensorsFile {
  return openSource(memorySource(bytes), name, name);
}

/** Opens a safetensors file over any ByteSource; the source is closed on failure. */
export function openSource(src: ByteSource, file: string, absPath: string): SafetensorsFile {
  let header: ParsedHeader;
  try {
    const prefix = src.size >= 8 ? src.read(0, 8) : new Uint8Array(8);
    const n = parseHeaderLength(prefix, src.size, file);
    header = parseHeader(src.read(8, n), src.size, file);
  } catch (e) {
    src.close();
    throw e;
  }
  const byName = new Map<string, HeaderEntry>();
  for (const e of header.entries) byName.set(e.name, e);
  const tensors: TensorInfo[] = header.entries.map((e) => ({
    name: e.name,
    dtype: e.dtype,
    shape: e.shape,
    byteLength: e.byteLength,
    file: absPath,
  }));
  const infos = new Map(tensors.map((t) => [t.name, t]));
  const entry = (name: string): HeaderEntry => {
    const e = byName.get(name);
    if (!e) throw new SafetensorsError(`${label(file)}: no tensor ${quote(name)}`);
    return e;
  };
  const readBytes = (name: string): Uint8Array => {
    const e = entry(name);
    if (e.byteLength > MAX_TENSOR_BYTES)
      throw new SafetensorsError(
        `${label(file)}: tensor ${quote(name)} is ${e.byteLength} bytes; tensors over 4 GiB (${MAX_TENSOR_BYTES} bytes) cannot be read into one array`,
      );
    return src.read(e.start, e.byteLength);
  };
  // readBytes returns a fresh buffer at offset 0, so the typed array can view it without a second copy.
  const readRaw = (name: string): RawArray => rawFromBytes(entry(name).dtype, readBytes(name), false);
  return {
    path: file,
    tensors,
    metadata: header.metadata,
    has: (name) => byName.has(name),
    info: (name) => (entry(name), infos.get(name)!),
    readBytes,
    readRaw,
    readF32: (name) => toF32(entry(name).dtype, readRaw(name)),
    close: () => src.close(),
  };
}
