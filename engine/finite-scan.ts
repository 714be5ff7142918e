/**
 * The load-time weight scan: every float tensor read from a checkpoint is checked for NaN/Inf before it is used.
 * f32/f64: `x - x !== 0` (true exactly for NaN and ±Inf); f16/bf16: the exponent bits all ones, tested on the raw
 * 16-bit words without widening. Integer tensors (packed GPTQ/AWQ/int8 weights) cannot hold NaN; their float
 * scales are scanned like any other tensor. Cost: one read-only pass over bytes just read from disk (measured by
 * bench/weight-scan.ts; see docs/reliability.md).
 */
import { NonFiniteError } from './errors.ts';
import { label, quote } from './safetensors-header.ts';
import type { DType, RawArray } from './types.ts';

/** Index of the first NaN/Inf element, or -1. */
export function firstNonFinite(dtype: DType, raw: RawArray): number {
  if (dtype === 'F32' || dtype === 'F64') {
    const a = raw as Float32Array | Float64Array;
    for (let i = 0; i < a.length; i++) if (a[i] - a[i] !== 0) return i;
    return -1;
  }
  const mask = dtype === 'F16' ? 0x7c00 : dtype === 'BF16' ? 0x7f80 : 0;
  if (mask === 0) return -1;
  const a = raw as Uint16Array;
  for (let i = 0; i < a.length; i++) if ((a[i] & mask) === mask) return i;
  return -1;
}

/** Returns `raw` unchanged, or throws NonFiniteError naming the tensor, the file and the element. */
export function assertFiniteTensor<T extends RawArray>(dtype: DType, raw: T, name: string, file: string): T {
  const i = firstNonFinite(dtype, raw);
  if (i >= 0) throw new NonFiniteError(`${label(file)}: tensor ${quote(name)} holds NaN/Inf (element ${i}); the checkpoint is corrupt`);
  return raw;
}
