/**
 * A minimal in-memory WeightSource for the format/converter tests: one safetensors file read whole, or
 * tensors given directly. Independent of engine/checkpoint.ts so these tests do not depend on it.
 */
import { readFileSync } from 'node:fs';
import { ModelFolderError } from '../../engine/errors.ts';
import { rawFromBytes, toF32 } from '../../engine/dtype.ts';
import { parseHeader, parseHeaderLength } from '../../engine/safetensors-header.ts';
import type { DType, RawArray, TensorInfo, WeightSource } from '../../engine/types.ts';

export interface MemTensor {
  dtype: DType;
  shape: number[];
  data: RawArray;
}

export function memorySource(tensors: Map<string, MemTensor>, path = '<memory>', metadata: Record<string, string> = {}): WeightSource {
  const get = (name: string): MemTensor => {
    const t = tensors.get(name);
    if (!t) throw new ModelFolderError(`${path}: missing tensor ${name}`);
    return t;
  };
  return {
    path,
    names: () => [...tensors.keys()],
    has: (name) => tensors.has(name),
    info: (name): TensorInfo => {
      const t = get(name);
      return { name, dtype: t.dtype, shape: t.shape, byteLength: t.data.byteLength, file: path };
    },
    readRaw: (name) => get(name).data,
    readF32: (name) => {
      const t = get(name);
      return toF32(t.dtype, t.data).slice();
    },
    metadata: () => metadata,
    close() {},
  };
}

export function readSafetensors(file: string): Map<string, MemTensor> {
  const buf = new Uint8Array(readFileSync(file));
  const len = parseHeaderLength(buf.subarray(0, 8), buf.byteLength, file);
  const h = parseHeader(buf.subarray(8, 8 + len), buf.byteLength, file);
  const out = new Map<string, MemTensor>();
  for (const e of h.entries)
    out.set(e.name, { dtype: e.dtype, shape: e.shape, data: rawFromBytes(e.dtype, buf.subarray(e.start, e.start + e.byteLength)) });
  return out;
}

export const fileSource = (file: string): WeightSource => memorySource(readSafetensors(file), file);
