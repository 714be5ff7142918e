/**
 * Run-time precision of the matmuls: f32 weights are quantized at load (RTN int8 per output channel, or
 * int4 asymmetric with groups of `groupSize` input channels, clamped to K when K is smaller), or narrowed to
 * bf16 (round to nearest even: for a bf16 checkpoint, whose weights were widened exactly when read, this gives
 * back exactly the stored bits, so a bf16 run computes what widening at load computes, at half the bytes). Weights
 * that arrive already quantized (pre-quantized checkpoints, or a cloned model) are kept as they are:
 * a quantized model never holds an f32 copy of its linears.
 */
import { bf16Narrow } from '../kernels/formats.ts';
import { quantizeInt4, quantizeInt8 } from '../kernels/quantize.ts';
import type { LayerWeight, WeightPrecision } from './types.ts';

export const DEFAULT_INT4_GROUP = 128;

export function toPrecision(w: LayerWeight, precision: WeightPrecision, groupSize: number, name: string): LayerWeight {
  if (w.format !== 'f32' || precision === 'f32') return w;
  if (precision === 'bf16') return { format: 'bf16', n: w.n, k: w.k, w: bf16Narrow(w.w), perm: w.perm ?? null };
  if (w.perm) throw new RangeError(`${name}: cannot quantize an f32 weight with an input permutation`);
  if (precision === 'int8') return quantizeInt8(w.w, w.n, w.k, w.k, name);
  return quantizeInt4(w.w, w.n, w.k, Math.min(groupSize, w.k), { sym: false }, name);
}

/** The precision a set of weights runs at: the narrowest format among them. */
export function precisionOf(formats: Iterable<LayerWeight['format']>): WeightPrecision {
  let p: WeightPrecision = 'f32';
  for (const f of formats) {
    if (f === 'int4') return 'int4';
    if (f === 'int8' || f === 'mixed' || f === 'w8a8') p = 'int8';
    else if (f === 'bf16' && p === 'f32') p = 'bf16';
  }
  return p;
}
