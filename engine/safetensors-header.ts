/**
 * Safetensors header parsing and validation, independent of where the bytes live (file or memory), so the
 * file reader and the in-memory fuzz tests run the same code.
 *
 * Layout: u64 LE header length N, N bytes of UTF-8 JSON (may be padded with trailing spaces), then the data
 * region; each tensor's `data_offsets` [begin, end) are relative to the data region and must tile it exactly.
 */
import { SafetensorsError } from './errors.ts';
import { DTYPE_BYTES, isDType } from './dtype.ts';
import type { DType } from './types.ts';

/** Headers larger than this are refused (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** Absolute byte offsets in the file. */
  start: number;
  byteLength: number;
}

export interface ParsedHeader {
  /** Byte offset of the data region (8 + header length). */
  dataStart: number;
  entries: HeaderEntry[];
  metadata: Record<string, string>;
}

/** A name quoted for a one-line message (control characters escaped). */
export const quote = (s: string): string =>
  `'${JSON.stringify(s)
    .slice(1, -1)
    .replace(/\u2028|\u2029/g, ' ')}'`;

const oneLine = (s: string): string => s.replace(/[\u0000-\u001f\u2028\u2029]/g, ' ');

/** A file label safe for a one-line message. */
export const label = (s: string): string =>
  JSON.stringify(s)
    .slice(1, -1)
    .replace(/\u2028|\u2029/g, ' ');

const shapeText = (shape: number[]) => `[${shape.join(', ')}]`;

/**
 * Validates the 8-byte prefix against the file size; returns the header length. `prefix` may be shorter than
 * 8 bytes when the file is.
 */
export function parseHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  const fail = (what: string) => {
    throw new SafetensorsError(`${label(file)}: ${what}`);
  };
  if (fileSize < 8) fail(`file is ${fileSize} bytes, too short for the 8-byte header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) fail(`header length ${n} exceeds the ${fileSize - 8} bytes after the length field`);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2n) fail(`header length ${n} is too short for a JSON object`);
  return Number(n);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Parses and validates the header JSON of a file of `fileSize` bytes. */
export function parseHeader(headerBytes: Uint8Array, fileSize: number, file: string): ParsedHeader {
  const f = label(file);
  const fail = (what: string): never => {
    throw new SafetensorsError(`${f}: ${what}`);
  };
  const dataStart = 8 + headerBytes.byteLength;
  const dataSize = fileSize - dataStart;
  if (dataSize < 0) fail(`header length ${headerBytes.byteLength} exceeds the file`);

  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    fail('header is not valid UTF-8');
  }
  if (text[0] !== '{') fail('header is not JSON: it does not start with "{"');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`header is not JSON (${oneLine((e as Error).message)})`);
  }
  if (!isPlainObject(json)) fail('header is not a JSON object');
  const obj = json as Record<string, unknown>;
  // JSON.parse keeps the last of two equal keys silently; a header naming one tensor twice is malformed.
  if (topLevelKeyCount(text) !== Object.keys(obj).length) {
    const seen = new Set<string>();
    const dup = topLevelKeys(text).find((k) => (seen.has(k) ? true : (seen.add(k), false)));
    fail(`tensor ${quote(dup ?? '?')} appears twice in the header`);
  }

  const metadata: [string, string][] = [];
  const entries: HeaderEntry[] = [];
  for (const [name, v] of Object.entries(obj)) {
    if (name === '__metadata__') {
      if (!isPlainObject(v)) fail('__metadata__ is not an object of strings');
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') fail(`__metadata__ field ${quote(k)} is not a string`);
        metadata.push([k, s as string]);
      }
      continue;
    }
    const t = `tensor ${quote(name)}`;
    if (!isPlainObject(v)) fail(`${t} is not an object`);
    const e = v as Record<string, unknown>;
    if (!isDType(e.dtype)) fail(`${t} has unknown dtype ${typeof e.dtype === 'string' ? quote(e.dtype) : String(JSON.stringify(e.dtype))}`);
    const dtype = e.dtype as DType;
    if (!Array.isArray(e.shape) || !e.shape.every(isIndex)) fail(`${t} shape is not a list of non-negative integers`);
    const shape = e.shape as number[];
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isIndex)) fail(`${t} data_offsets is not a pair of non-negative integers`);
    const [begin, end] = off as number[];
    if (begin > end) fail(`${t} data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataSize) fail(`${t} data_offsets [${begin}, ${end}] exceed the ${dataSize}-byte data region`);
    // A float product is monotone, so an overflowing shape still compares as too large.
    const bytes = shape.reduce((p, d) => p * d, 1) * DTYPE_BYTES[dtype];
    if (bytes !== end - begin)
      fail(`${t} data_offsets [${begin}, ${end}] do not match shape ${shapeText(shape)} x ${dtype} (${bytes} bytes)`);
    entries.push({ name, dtype, shape, start: dataStart + begin, byteLength: end - begin });
  }

  // The tensors must tile the data region: no overlap, no gap, no trailing bytes.
  const sorted = [...entries].sort((a, b) => a.start - b.start || a.byteLength - b.byteLength);
  let pos = dataStart;
  let prev: HeaderEntry | null = null;
  for (const e of sorted) {
    if (e.start < pos) fail(`tensor ${quote(e.name)} overlaps tensor ${quote(prev!.name)}`);
    if (e.start > pos) fail(`${e.start - pos} unused bytes before tensor ${quote(e.name)}`);
    pos = e.start + e.byteLength;
    prev = e;
  }
  if (pos !== fileSize) fail(`${fileSize - pos} unused bytes after the last tensor`);

  return { dataStart, entries, metadata: Object.fromEntries(metadata) };
}

/**
 * The keys of the top-level object of (already valid) JSON text, in order, duplicates kept. A linear scan:
 * strings are skipped with their escapes, depth counts braces and brackets, and a depth-1 string followed by
 * ':' is a key.
 */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (depth === 1) {
        let j = i + 1;
        while (j < text.length && /\s/.test(text[j])) j++;
        if (text[j] === ':') keys.push(JSON.parse(text.slice(start, i + 1)) as string);
      }
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

const topLevelKeyCount = (text: string): number => topLevelKeys(text).length;
