/** Parsing of the analysis commands' numeric / list options into typed values (UsageError naming the flag). */
import { UsageError } from '../engine/errors.ts';
import type { LoadPrecision, WeightPrecision } from '../models/types.ts';

export function intArg(flag: string, v: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not an integer in ${min}..${max}`);
  return n;
}

export function numArg(flag: string, v: string | undefined, min = -Infinity, max = Infinity): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a number in [${min}, ${max}]`);
  return n;
}

export function idListArg(flag: string, v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  return v.split(',').map((s) => intArg(flag, s.trim(), 0)!);
}

const PRECISIONS = ['auto', 'f32', 'bf16', 'int8', 'int4'] as const;

/**
 * The run-time precision from --precision (auto|f32|bf16|int8|int4; auto = the checkpoint's dtype) or the older
 * --quant (int8|int4|f32); giving both is refused. Default f32.
 */
export function precisionArg(precision: string | undefined, quant: string | undefined): LoadPrecision {
  if (precision !== undefined && quant !== undefined)
    throw new UsageError('give --precision or --quant, not both (--quant int8 = --precision int8)');
  if (precision === undefined) return quantArg(quant);
  if (!(PRECISIONS as readonly string[]).includes(precision))
    throw new UsageError(`--precision: ${JSON.stringify(precision)} is not one of ${PRECISIONS.join(', ')}`);
  return precision as LoadPrecision;
}

export function quantArg(v: string | undefined): WeightPrecision {
  if (v === undefined) return 'f32';
  if (v !== 'int8' && v !== 'int4' && v !== 'f32') throw new UsageError(`--quant: ${JSON.stringify(v)} is not int8, int4 or f32`);
  return v;
}

/** --max-layer-fraction F: candidates at layer >= floor(F * L) are dropped, so F = 0 would leave none. */
export function layerFractionArg(v: string | undefined, flag = '--max-layer-fraction'): number | undefined {
  const f = numArg(flag, v, 0, 1);
  if (f === 0) throw new UsageError(`${flag}: 0 leaves no candidate layer (use a number in (0, 1])`);
  return f;
}
