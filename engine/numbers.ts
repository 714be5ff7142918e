/**
 * The one strict number parser for command-line flags and environment variables.
 *
 * Why strict: `Number()` accepts '' (0), '0x10' (16), '1e8', ' 7 ' and 'Infinity', so a typo silently becomes a
 * different run. Integers here are plain decimal digits (an optional leading '-'), numbers are plain decimals with an
 * optional exponent; anything else, or a value outside the named range, is a UsageError that names the flag or
 * variable and the range.
 */
import { UsageError } from './errors.ts';

export interface NumberRange {
  /** Smallest accepted value (inclusive); default -Infinity (integers: Number.MIN_SAFE_INTEGER). */
  min?: number;
  /** Largest accepted value (inclusive); default Infinity (integers: Number.MAX_SAFE_INTEGER). */
  max?: number;
}

const DECIMAL_INTEGER = /^-?\d+$/;
const DECIMAL_NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function rangeText(min: number, max: number): string {
  if (max === Number.MAX_SAFE_INTEGER || max === Infinity) return `>= ${min}`;
  if (min === Number.MIN_SAFE_INTEGER || min === -Infinity) return `<= ${max}`;
  return `in ${min}..${max}`;
}

/** A decimal integer within [min, max]; `name` is the flag or variable the text came from (e.g. '--max-tokens'). */
export function parseInteger(text: string, name: string, range: NumberRange = {}): number {
  const min = range.min ?? Number.MIN_SAFE_INTEGER;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const n = DECIMAL_INTEGER.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${name}: expected a decimal integer ${rangeText(min, max)}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** A finite decimal number within [min, max]. */
export function parseNumber(text: string, name: string, range: NumberRange = {}): number {
  const min = range.min ?? -Infinity;
  const max = range.max ?? Infinity;
  const n = DECIMAL_NUMBER.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    const where = min === -Infinity && max === Infinity ? 'a finite number' : `a number in [${min}, ${max}]`;
    throw new UsageError(`${name}: expected ${where}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** A comma-separated list of decimal integers (empty items are an error, not skipped). */
export function parseIntegerList(text: string, name: string, range: NumberRange = {}): number[] {
  if (text.trim() === '') throw new UsageError(`${name}: expected a comma-separated list of integers, got ""`);
  return text.split(',').map((part) => parseInteger(part.trim(), name, range));
}

/** An optional environment variable as an integer: undefined when unset or empty, an error when malformed. */
export function integerFromEnv(env: NodeJS.ProcessEnv, variable: string, range: NumberRange = {}): number | undefined {
  const text = env[variable];
  if (text === undefined || text === '') return undefined;
  return parseInteger(text, variable, range);
}
