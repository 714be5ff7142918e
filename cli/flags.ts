/**
 * Every flag of every command is parsed here into typed values. Numbers go through the strict parser in
 * engine/numbers.ts (decimal only; the range is named in the message), so '0x10', '1e3' or '' never become a
 * different run; each error is a UsageError naming the flag.
 */
import { UsageError } from '../engine/errors.ts';
import { type NumberRange, parseInteger, parseIntegerList, parseNumber } from '../engine/numbers.ts';
import type { LoadPrecision } from '../models/types.ts';

/** Seeds feed mulberry32 (engine/prng.ts), which keeps 32 bits: larger values would silently alias. */
export const SEED_RANGE: NumberRange = { min: 0, max: 2 ** 32 - 1 };
export const POSITIVE: NumberRange = { min: 1 };
export const NON_NEGATIVE: NumberRange = { min: 0 };

/** An integer flag, undefined when the flag was not given. */
export function optionalInteger(text: string | undefined, flag: string, range: NumberRange = {}): number | undefined {
  return text === undefined ? undefined : parseInteger(text, flag, range);
}

/** A number flag, undefined when the flag was not given. */
export function optionalNumber(text: string | undefined, flag: string, range: NumberRange = {}): number | undefined {
  return text === undefined ? undefined : parseNumber(text, flag, range);
}

/** A comma-separated integer list flag (token ids, layers), undefined when not given. */
export function optionalIntegerList(text: string | undefined, flag: string, range: NumberRange = NON_NEGATIVE): number[] | undefined {
  return text === undefined ? undefined : parseIntegerList(text, flag, range);
}

/** --max-layer-fraction F: candidates at layer >= floor(F * L) are dropped, so F = 0 would leave none. */
export function layerFraction(text: string | undefined, flag = '--max-layer-fraction'): number | undefined {
  const f = optionalNumber(text, flag, { min: 0, max: 1 });
  if (f === 0) throw new UsageError(`${flag}: 0 leaves no candidate layer (use a number in (0, 1])`);
  return f;
}

/**
 * The flags that choose how a model's linears are held: --precision auto|f32|bf16|int8|int4 (auto = the
 * checkpoint's dtype), its older spelling --quant f32|int8|int4, and --group-size (int4 only).
 */
export interface ModelFlags {
  precision?: string;
  quant?: string;
  groupSize?: string;
}

const PRECISIONS = ['auto', 'f32', 'bf16', 'int8', 'int4'] as const;

/** The load precision of --precision or --quant (default f32); giving both is refused. */
export function precisionFlag(quant: string | undefined, precision?: string): LoadPrecision {
  if (precision !== undefined && quant !== undefined)
    throw new UsageError('give --precision or --quant, not both (--quant int8 = --precision int8)');
  if (precision !== undefined) {
    if (!(PRECISIONS as readonly string[]).includes(precision))
      throw new UsageError(`--precision: ${JSON.stringify(precision)} is not one of ${PRECISIONS.join(', ')}`);
    return precision as LoadPrecision;
  }
  const q = quant ?? 'f32';
  if (q !== 'f32' && q !== 'int8' && q !== 'int4') throw new UsageError(`--quant: expected int8, int4 or f32, got "${q}"`);
  return q;
}

/** --precision (or --quant) and --group-size together: the group size applies to int4 only. */
export function precisionFlags(flags: ModelFlags): { precision: LoadPrecision; groupSize?: number } {
  const precision = precisionFlag(flags.quant, flags.precision);
  const groupSize = optionalInteger(flags.groupSize, '--group-size', POSITIVE);
  if (groupSize !== undefined && precision !== 'int4')
    throw new UsageError(`--group-size: only applies to --precision int4 (got ${precision})`);
  return { precision, groupSize };
}
