/**
 * Typed field access on a JSON object with errors that name the file and field ("config.json: missing field
 * hidden_size"). A default of `undefined` makes a field required; `null` as a JSON value counts as absent.
 */
import { ConfigError } from './errors.ts';

export interface FieldReader {
  readonly raw: Record<string, unknown>;
  /** Names the source in messages, e.g. `config.json` or `config.json: rope_scaling`. */
  readonly file: string;
  str(key: string, dflt?: string | null): string | null;
  bool(key: string, dflt?: boolean): boolean;
  int(key: string, dflt?: number): number;
  posInt(key: string, dflt?: number): number;
  posNum(key: string, dflt?: number): number;
  /** A positive integer, or null when absent / null. */
  optPosInt(key: string): number | null;
  /** A non-negative integer, or null when absent / null. */
  optInt(key: string): number | null;
  /** An integer or a list of integers (eos_token_id), [] when absent. */
  intList(key: string): number[];
  strList(key: string): string[];
}

export function fieldReader(raw: Record<string, unknown>, file: string): FieldReader {
  const missing = (key: string): never => {
    throw new ConfigError(`${file}: missing field ${key}`);
  };
  const bad = (key: string, want: string): never => {
    throw new ConfigError(`${file}: field ${key} must be ${want}, got ${JSON.stringify(raw[key])}`);
  };
  const get = (key: string): unknown => (raw[key] === null ? undefined : raw[key]);
  const num = (key: string, dflt: number | undefined, ok: (v: number) => boolean, want: string): number => {
    const v = get(key);
    if (v === undefined) return dflt === undefined ? missing(key) : dflt;
    if (typeof v !== 'number' || !ok(v)) return bad(key, want);
    return v;
  };
  const isInt = (v: number) => Number.isSafeInteger(v);
  return {
    raw,
    file,
    str(key, dflt) {
      const v = get(key);
      if (v === undefined) return dflt === undefined ? missing(key) : dflt;
      if (typeof v !== 'string') return bad(key, 'a string');
      return v;
    },
    bool(key, dflt) {
      const v = get(key);
      if (v === undefined) return dflt === undefined ? missing(key) : dflt;
      if (typeof v !== 'boolean') return bad(key, 'true or false');
      return v;
    },
    int: (key, dflt) => num(key, dflt, isInt, 'an integer'),
    posInt: (key, dflt) => num(key, dflt, (v) => isInt(v) && v > 0, 'a positive integer'),
    posNum: (key, dflt) => num(key, dflt, (v) => Number.isFinite(v) && v > 0, 'a positive number'),
    optPosInt(key) {
      return get(key) === undefined ? null : num(key, undefined, (v) => isInt(v) && v > 0, 'a positive integer');
    },
    optInt(key) {
      return get(key) === undefined ? null : num(key, undefined, (v) => isInt(v) && v >= 0, 'a non-negative integer');
    },
    intList(key) {
      const v = get(key);
      if (v === undefined) return [];
      const list = Array.isArray(v) ? v : [v];
      if (!list.every((x) => typeof x === 'number' && isInt(x) && x >= 0)) {
        return bad(key, 'a non-negative integer or a list of them');
      }
      return list as number[];
    },
    strList(key) {
      const v = get(key);
      if (v === undefined) return [];
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return bad(key, 'a list of strings');
      return v as string[];
    },
  };
}
