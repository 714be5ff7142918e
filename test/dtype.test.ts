/**
 * engine/dtype.ts against slow, independent references: values computed from sign/exponent/mantissa with
 * plain arithmetic, and narrowing as "nearest representable value, ties to the even bit pattern" found by
 * binary search over a table of all values. Everything is compared bit for bit (no tolerance: these
 * conversions are exact by definition).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bf16ToF32, bigintToF32, f16ToF32, f32ToBf16, f32ToF16, f8e4m3ToF32, f8e5m2ToF32, rawFromBytes, toF32 } from '../engine/dtype.ts';

const dv = new DataView(new ArrayBuffer(8));
const f32Bits = (v: number): number => (dv.setFloat32(0, v, true), dv.getUint32(0, true));
const bitsF32 = (b: number): number => (dv.setUint32(0, b >>> 0, true), dv.getFloat32(0, true));

/** Value of a binary float with `eBits` exponent and `mBits` mantissa bits, IEEE-style (top exponent = Inf/NaN). */
function decode(bits: number, eBits: number, mBits: number): number {
  const sign = (bits >>> (eBits + mBits)) & 1 ? -1 : 1;
  const e = (bits >>> mBits) & ((1 << eBits) - 1);
  const m = bits & ((1 << mBits) - 1);
  const bias = (1 << (eBits - 1)) - 1;
  if (e === (1 << eBits) - 1) return m ? NaN : sign * Infinity;
  if (e === 0) return sign * m * 2 ** (1 - bias - mBits);
  return sign * (1 + m / 2 ** mBits) * 2 ** (e - bias);
}

/** Expected f32 bits of a widened 16-bit pattern: value bits, or the NaN with the payload shifted up. */
function widenRef(bits: number, eBits: number, mBits: number): number {
  const v = decode(bits, eBits, mBits);
  if (!Number.isNaN(v)) return f32Bits(v);
  const sign = (bits >>> (eBits + mBits)) & 1;
  return ((sign << 31) | 0x7f800000 | ((bits & ((1 << mBits) - 1)) << (23 - mBits))) >>> 0;
}

/** Narrowing reference: nearest of all non-negative 16-bit values (Inf included as the value past the max). */
function makeNarrowRef(eBits: number, mBits: number) {
  const infBits = ((1 << eBits) - 1) << mBits;
  const vals: number[] = [];
  for (let b = 0; b < infBits; b++) vals.push(decode(b, eBits, mBits));
  // Inf sits where the next binade would start; values past the max round to it exactly as IEEE overflow does.
  vals.push(2 ** (1 << (eBits - 1)));
  return (x: number): number => {
    const sign = (x >>> 31) << (eBits + mBits);
    const a = x & 0x7fffffff;
    if (a > 0x7f800000) return sign | infBits | (1 << (mBits - 1)) | ((a >>> (23 - mBits)) & ((1 << mBits) - 1));
    const v = Math.abs(bitsF32(x));
    if (v >= vals[vals.length - 1]) return sign | infBits;
    let lo = 0;
    let hi = vals.length - 1; // vals[lo] <= v < vals[hi]
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (vals[mid] <= v) lo = mid;
      else hi = mid;
    }
    const dl = v - vals[lo];
    const dh = vals[hi] - v;
    const pick = dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
    return sign | pick;
  };
}

const f16Ref = makeNarrowRef(5, 10);
const bf16Ref = makeNarrowRef(8, 7);

const all16 = () => Uint16Array.from({ length: 65536 }, (_, i) => i);

/** Edge f32 patterns: every 16-bit value, the midpoints between neighbours and the f32 values next to them. */
function edgePatterns(eBits: number, mBits: number): Uint32Array {
  const out: number[] = [
    0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0x7fbfffff, 1, 0x80000001, 0x7f7fffff, 0xff7fffff,
  ];
  const infBits = ((1 << eBits) - 1) << mBits;
  for (let b = 0; b < infBits; b++) {
    const v = decode(b, eBits, mBits);
    const next = b + 1 < infBits ? decode(b + 1, eBits, mBits) : 2 ** (1 << (eBits - 1));
    for (const x of [v, (v + next) / 2]) {
      const bits = f32Bits(x);
      for (const d of [-1, 0, 1]) {
        const p = bits + d;
        if (p >= 0 && p <= 0x7f800000) out.push(p, (p | 0x80000000) >>> 0);
      }
    }
  }
  return Uint32Array.from(out);
}

function expectBitsEqual(got: ArrayLike<number>, want: ArrayLike<number>, input: ArrayLike<number>) {
  for (let i = 0; i < want.length; i++)
    if (got[i] !== want[i]) expect.fail(`input 0x${input[i].toString(16)}: got 0x${got[i].toString(16)}, want 0x${want[i].toString(16)}`);
}

describe('widening is exact for every 16-bit pattern', () => {
  it('f16 -> f32, all 65536 patterns', () => {
    const src = all16();
    const got = new Uint32Array(f16ToF32(src).buffer);
    expectBitsEqual(
      got,
      Array.from(src, (b) => widenRef(b, 5, 10)),
      src,
    );
  });
  it('bf16 -> f32, all 65536 patterns', () => {
    const src = all16();
    const got = new Uint32Array(bf16ToF32(src).buffer);
    expectBitsEqual(
      got,
      Array.from(src, (b) => widenRef(b, 8, 7)),
      src,
    );
  });
  it('f8 E5M2 (IEEE-like) and E4M3 (fn: no Inf, one NaN per sign), all 256 patterns', () => {
    const src = Uint8Array.from({ length: 256 }, (_, i) => i);
    const e5 = new Uint32Array(f8e5m2ToF32(src).buffer);
    expectBitsEqual(
      e5,
      Array.from(src, (b) => widenRef(b, 5, 2)),
      src,
    );
    const e4 = f8e4m3ToF32(src);
    for (let b = 0; b < 256; b++) {
      const e = (b >> 3) & 15;
      const m = b & 7;
      const s = b & 0x80 ? -1 : 1;
      const want = e === 15 && m === 7 ? NaN : e === 0 ? (s * m) / 512 : s * (1 + m / 8) * 2 ** (e - 7);
      expect(Object.is(e4[b], want) || (Number.isNaN(e4[b]) && Number.isNaN(want)), `0x${b.toString(16)}`).toBe(true);
    }
    expect(e4[0x7e]).toBe(448);
    expect(e4[0x01]).toBe(2 ** -9);
  });
});

describe('narrowing rounds to nearest even', () => {
  it('f32 -> f16 on every f16 value, every midpoint and their f32 neighbours', () => {
    const src = edgePatterns(5, 10);
    const got = f32ToF16(new Float32Array(src.buffer));
    expectBitsEqual(got, Array.from(src, f16Ref), src);
  });
  it('f32 -> bf16 on every bf16 value, every midpoint and their f32 neighbours', () => {
    const src = edgePatterns(8, 7);
    const got = f32ToBf16(new Float32Array(src.buffer));
    expectBitsEqual(got, Array.from(src, bf16Ref), src);
  });
  it('random f32 bit patterns (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint32Array({ minLength: 1, maxLength: 64 }), (bits) => {
        const f = new Float32Array(bits.buffer, bits.byteOffset, bits.length);
        expectBitsEqual(f32ToF16(f), Array.from(bits, f16Ref), bits);
        expectBitsEqual(f32ToBf16(f), Array.from(bits, bf16Ref), bits);
      }),
      { numRuns: 1000 },
    );
  });
  it('keeps signed zero, infinities and quiet NaN payloads; round-trips every non-NaN 16-bit value', () => {
    const z = f32ToF16(new Float32Array([-0, 0, Infinity, -Infinity, 65504, 65519.99, 65520, 2 ** -25, 2 ** -24 * 1.5]));
    expect(Array.from(z)).toEqual([0x8000, 0, 0x7c00, 0xfc00, 0x7bff, 0x7bff, 0x7c00, 0, 2]);
    const qnan = new Float32Array(new Uint32Array([0xffc12345]).buffer);
    expect(f32ToF16(qnan)[0]).toBe(0xfe00 | (0x412345 >>> 13));
    expect(f32ToBf16(qnan)[0]).toBe(0xffc1);
    const snan = new Float32Array(new Uint32Array([0x7f800001]).buffer); // payload only in low bits
    expect(f32ToF16(snan)[0]).toBe(0x7e00);
    expect(f32ToBf16(snan)[0]).toBe(0x7fc0);
    for (const [widen, narrow, eBits, mBits] of [
      [f16ToF32, f32ToF16, 5, 10],
      [bf16ToF32, f32ToBf16, 8, 7],
    ] as const) {
      const src = all16().filter((b) => !Number.isNaN(decode(b, eBits, mBits)));
      expect(narrow(widen(src))).toEqual(src);
    }
  });
});

describe('toF32 and raw views', () => {
  it('rounds integers once, to nearest even (I64 beyond 2^53 included)', () => {
    // Reference: exact rational comparison of the two neighbouring f32 values.
    const ref = (v: bigint): number => {
      const x = Number(v); // may be off, only used to find candidates
      const cands = new Set<number>();
      for (const c of [Math.fround(x), bitsF32(f32Bits(Math.fround(x)) + 1), bitsF32(f32Bits(Math.fround(x)) - 1)])
        if (Number.isInteger(c)) cands.add(c);
      let best = NaN;
      let bestD = -1n;
      for (const c of cands) {
        const d = BigInt(c) > v ? BigInt(c) - v : v - BigInt(c);
        if (bestD < 0n || d < bestD || (d === bestD && (f32Bits(c) & 1) === 0)) {
          best = c;
          bestD = d;
        }
      }
      return best;
    };
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => {
        expect(bigintToF32(v)).toBe(ref(v));
      }),
      { numRuns: 2000 },
    );
    // A tie that double rounding (bigint -> f64 -> f32) gets wrong: 2^60 + 2^36 + 1 is just above the midpoint.
    const v = 2n ** 60n + 2n ** 36n + 1n;
    expect(bigintToF32(v)).toBe(2 ** 60 + 2 ** 37);
    const i64 = new BigInt64Array([-(2n ** 63n), 3n, 16777217n]);
    expect(Array.from(toF32('I64', i64))).toEqual([-(2 ** 63), 3, 16777216]);
    expect(Array.from(toF32('I32', new Int32Array([16777217, -5])))).toEqual([16777216, -5]);
    expect(Array.from(toF32('BOOL', new Uint8Array([0, 1])))).toEqual([0, 1]);
    expect(Array.from(toF32('F64', new Float64Array([0.1])))).toEqual([Math.fround(0.1)]);
  });
  it('rawFromBytes copies misaligned bytes into an aligned array of the right kind', () => {
    const buf = new Uint8Array(13);
    new DataView(buf.buffer).setFloat32(1, 1.5, true);
    new DataView(buf.buffer).setFloat32(5, -2, true);
    const a = rawFromBytes('F32', buf.subarray(1, 9));
    expect(a).toBeInstanceOf(Float32Array);
    expect(Array.from(a as Float32Array)).toEqual([1.5, -2]);
    expect(rawFromBytes('I64', new Uint8Array(8).fill(255))).toEqual(new BigInt64Array([-1n]));
    expect(rawFromBytes('BF16', new Uint8Array(4))).toBeInstanceOf(Uint16Array);
    expect(() => rawFromBytes('F32', new Uint8Array(3))).toThrow(/3 bytes/);
  });
});
