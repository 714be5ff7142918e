/**
 * Every flag of every command is parsed here into typed values. Numbers go through the strict parser in
 * engine/numbers.ts (decimal only; the range is named in the message), so '0x10', '1e3' or '' never become a
 * different run; each error is a UsageError naming the flag.
 */
import { UsageError } from '../engine/errors.ts';
import { type NumberRange, parseInteger, parseIntegerList, parseNumber } from '../engine/numbers.ts';
import type { WeightPrecision } from '../models/types.ts';

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

/** The flags that choose how a model's linears are held: --quant [f32|int8|int4] and --group-size (int4 only). */
export interface ModelFlags {
  quant?: string;
  groupSize?: string;
}

/** The load precision of --quant (default f32). */
export function precisionFlag(quant: string | undefined): WeightPrecision {
  const q = quant ?? 'f32';
  if (q !== 'f32' && q !== 'int8' && q !== 'int4') throw new UsageError(`--quant: expected int8, int4 or f32, got "${q}"`);
  return q;
}

/** --quant and --group-size together: the group size applies to int4 only. */
export function precisionFlags(flags: ModelFlags): { precision: WeightPrecision; groupSize?: number } {
  const precision = precisionFlag(flags.quant);
  const groupSize = optionalInteger(flags.groupSize, '--group-size', POSITIVE);
  if (groupSize !== undefined && precision !== 'int4')
    throw new UsageError(`--group-size: only applies to --quant int4 (got --quant ${precision})`);
  return { precision, groupSize };
}
