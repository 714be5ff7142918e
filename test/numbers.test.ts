import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../engine/errors.ts';
import { integerFromEnv, parseInteger, parseIntegerList, parseNumber } from '../engine/numbers.ts';

describe('strict number parsing', () => {
  it('rejects what Number() would silently accept', () => {
    for (const bad of ['', ' ', '0x10', '1e8', ' 7', '7 ', 'Infinity', 'NaN', '1.0', '+3', '0b1']) {
      expect(() => parseInteger(bad, '--max-tokens', { min: 0 })).toThrow(UsageError);
    }
    for (const bad of ['', '0x10', 'Infinity', '1e999', 'abc', '1,5']) {
      expect(() => parseNumber(bad, '--temperature')).toThrow(UsageError);
    }
  });
  it('names the flag and the range', () => {
    expect(() => parseInteger('9', '--top-k', { min: 1, max: 5 })).toThrow(/--top-k: expected a decimal integer in 1\.\.5, got "9"/);
    expect(() => parseNumber('2', '--top-p', { min: 0, max: 1 })).toThrow(/--top-p: expected a number in \[0, 1\]/);
  });
  it('round-trips every safe integer in range', () => {
    fc.assert(fc.property(fc.integer({ min: -1e9, max: 1e9 }), (n) => parseInteger(String(n), '--x') === n));
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        (x) => Object.is(parseNumber(String(x), '--x'), x) || (x === 0 && parseNumber(String(x), '--x') === 0),
      ),
    );
  });
  it('lists and environment variables', () => {
    expect(parseIntegerList('1, 2,3', '--ids', { min: 0 })).toEqual([1, 2, 3]);
    expect(() => parseIntegerList('1,,2', '--ids')).toThrow(UsageError);
    expect(integerFromEnv({}, 'GLASSBOX_THREADS')).toBeUndefined();
    expect(() => integerFromEnv({ GLASSBOX_THREADS: '1000000' }, 'GLASSBOX_THREADS', { min: 1, max: 256 })).toThrow(/GLASSBOX_THREADS/);
  });
});
