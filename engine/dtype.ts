/**
 * Safetensors dtypes: element sizes, typed-array views of raw little-endian bytes, and exact conversions
 * between f32 and the 16-bit / 8-bit float formats.
 *
 * Narrowing (f32 -> f16 / bf16) rounds to nearest, ties to even, keeps signed zeros and infinities, produces
 * subnormals where due, and overflows to infinity. A NaN becomes a quiet NaN of the same sign that keeps the
 * top payload bits (what x86 F16C and ARM do: a signalling NaN is quieted, a quiet NaN stays as it is).
 * Widening is exact for every bit pattern, NaN payloads included.
 *
 * The loops work on Uint32Array views of Float32Array data so no float arithmetic (and no NaN
 * canonicalisation by the JS engine) touches the bits; they run on 100M-element tensors.
 */
import type { DType, RawArray } from './types.ts';
import { bf16Narrow, bf16Widen } from '../kernels/formats.ts';

export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

export const DTYPES = Object.keys(DTYPE_BYTES) as DType[];

export function isDType(s: unknown): s is DType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s);
}

export const isFloatDType = (d: DType): boolean => d.startsWith('F') || d === 'BF16';

// Safetensors data is little-endian; typed arrays use host order. Every platform Node 20 ships on is LE,
// but fail loudly rather than read swapped bytes on a big-endian host.
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The typed-array constructor that holds one dtype's elements (see RawArray in engine/types.ts). */
export function rawArrayKind(dtype: DType): string {
  switch (dtype) {
    case 'F64':
      return 'Float64Array';
    case 'F32':
      return 'Float32Array';
    case 'F16':
    case 'BF16':
      return 'Uint16Array';
    case 'I64':
      return 'BigInt64Array';
    case 'I32':
      return 'Int32Array';
    case 'I16':
      return 'Int16Array';
    case 'I8':
      return 'Int8Array';
    default:
      return 'Uint8Array'; // U8, BOOL, F8_*
  }
}

/**
 * Typed array of `dtype` over `bytes` (little-endian element data). Aligned input is viewed without copying
 * when `copy` is false; misaligned input is always copied (typed arrays need element alignment).
 */
export function rawFromBytes(dtype: DType, bytes: Uint8Array, copy = true): RawArray {
  if (!HOST_LE) throw new Error('Glassbox needs a little-endian host');
  const size = DTYPE_BYTES[dtype];
  if (bytes.byteLength % size !== 0) throw new RangeError(`${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  let buf = bytes.buffer as ArrayBuffer;
  let off = bytes.byteOffset;
  if (copy || off % size !== 0) {
    const c = new Uint8Array(bytes.byteLength);
    c.set(bytes);
    buf = c.buffer;
    off = 0;
  }
  const n = bytes.byteLength / size;
  switch (dtype) {
    case 'F64':
      return new Float64Array(buf, off, n);
    case 'F32':
      return new Float32Array(buf, off, n);
    case 'F16':
    case 'BF16':
      return new Uint16Array(buf, off, n);
    case 'I64':
      return new BigInt64Array(buf, off, n);
    case 'I32':
      return new Int32Array(buf, off, n);
    case 'I16':
      return new Int16Array(buf, off, n);
    case 'I8':
      return new Int8Array(buf, off, n);
    default:
      return new Uint8Array(buf, off, n);
  }
}

/** The bytes of a typed array (a view, no copy). */
export const bytesOf = (a: RawArray | Uint8Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

// ---------------------------------------------------------------------------------------------- bf16

// One implementation, next to the bf16 weight layout (kernels/formats.ts); the engine names them by dtype.
export const bf16ToF32 = bf16Widen;
export const f32ToBf16 = bf16Narrow;

// ---------------------------------------------------------------------------------------------- f16

let f16Table: Uint32Array | null = null;

/** f32 bit pattern of every f16 bit pattern (built once, 256 KiB). */
function f16ToF32Table(): Uint32Array {
  if (f16Table) return f16Table;
  const t = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const e = (h >>> 10) & 0x1f;
    let m = h & 0x3ff;
    let bits: number;
    if (e === 0x1f)
      bits = 0x7f800000 | (m << 13); // Inf / NaN, payload kept
    else if (e !== 0) bits = ((e + 112) << 23) | (m << 13);
    else if (m === 0) bits = 0;
    else {
      // Subnormal m * 2^-24: normalise so the leading 1 becomes the implicit bit.
      let ex = 113;
      while ((m & 0x400) === 0) {
        m <<= 1;
        ex--;
      }
      bits = (ex << 23) | ((m & 0x3ff) << 13);
    }
    t[h] = (sign | bits) >>> 0;
  }
  return (f16Table = t);
}

export function f16ToF32(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  const t = f16ToF32Table();
  const o = new Uint32Array(out.buffer, out.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) o[i] = t[src[i]];
  return out;
}

/** f16 bit pattern of one f32 bit pattern (round to nearest even). */
export function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const a = x & 0x7fffffff;
  if (a >= 0x47800000) {
    // |x| >= 65536 (past the largest finite f16 even after rounding), Inf or NaN.
    if (a > 0x7f800000) return sign | 0x7e00 | ((a >>> 13) & 0x3ff);
    return sign | 0x7c00;
  }
  if (a >= 0x38800000) {
    // Normal f16: rebias the exponent (127 -> 15) and round the 13 dropped bits; a carry is a correct round-up.
    return sign | ((a - 0x38000000 + 0xfff + ((a >>> 13) & 1)) >>> 13);
  }
  // Subnormal f16 (unit 2^-24) or zero: value = mant * 2^(e - 150) = (mant >> (126 - e)) units.
  const e = a >>> 23;
  const shift = 126 - e;
  if (shift > 24) return sign; // below 2^-25: rounds to zero (2^-25 itself is a tie to even 0)
  const mant = (a & 0x7fffff) | 0x800000;
  let q = mant >>> shift;
  const rem = mant & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (q & 1) === 1)) q++;
  return sign | q; // q may reach 0x400: the smallest normal, correctly
}

export function f32ToF16(src: Float32Array, out = new Uint16Array(src.length)): Uint16Array {
  const s = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < s.length; i++) out[i] = f32BitsToF16(s[i]);
  return out;
}

// ---------------------------------------------------------------------------------------------- f8

let e4m3Table: Float32Array | null = null;
let e5m2Table: Float32Array | null = null;

/** F8_E4M3 is torch's float8_e4m3fn: bias 7, no infinities, S.1111.111 is NaN, max 448. */
function e4m3ToF32Table(): Float32Array {
  if (e4m3Table) return e4m3Table;
  const t = new Float32Array(256);
  for (let b = 0; b < 256; b++) {
    const sign = b & 0x80 ? -1 : 1;
    const e = (b >>> 3) & 0xf;
    const m = b & 7;
    if (e === 0xf && m === 7) t[b] = NaN;
    else if (e === 0)
      t[b] = sign * m * 2 ** -9; // subnormal: m/8 * 2^-6
    else t[b] = sign * (1 + m / 8) * 2 ** (e - 7);
  }
  return (e4m3Table = t);
}

/** F8_E5M2 is the top byte of an f16. */
function e5m2ToF32Table(): Float32Array {
  if (e5m2Table) return e5m2Table;
  const h = new Uint16Array(256);
  for (let b = 0; b < 256; b++) h[b] = b << 8;
  return (e5m2Table = f16ToF32(h));
}

export function f8e4m3ToF32(src: Uint8Array, out = new Float32Array(src.length)): Float32Array {
  const t = e4m3ToF32Table();
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  return out;
}

export function f8e5m2ToF32(src: Uint8Array, out = new Float32Array(src.length)): Float32Array {
  const t = new Uint32Array(e5m2ToF32Table().buffer);
  const o = new Uint32Array(out.buffer, out.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) o[i] = t[src[i]];
  return out;
}

// ---------------------------------------------------------------------------------------------- any -> f32

const TWO53 = 2n ** 53n;

/** Nearest f32 to an integer (one rounding, ties to even; Number() first would round twice above 2^53). */
export function bigintToF32(v: bigint): number {
  if (v >= -TWO53 && v <= TWO53) return Math.fround(Number(v));
  const neg = v < 0n;
  const a = neg ? -v : v;
  const s = BigInt(a.toString(2).length - 24);
  let q = a >> s;
  const rem = a - (q << s);
  const half = 1n << (s - 1n);
  if (rem > half || (rem === half && (q & 1n) === 1n)) q++;
  const r = Number(q) * 2 ** Number(s); // q <= 2^24: exact
  return neg ? -r : r;
}

/**
 * Elements of `raw` (holding `dtype`) as f32: exact for F16/BF16/F8/integers up to 2^24, otherwise
 * the nearest f32 (F64 and large integers are rounded once, to nearest even).
 */
export function toF32(dtype: DType, raw: RawArray): Float32Array {
  switch (dtype) {
    case 'F32':
      return raw as Float32Array;
    case 'F16':
      return f16ToF32(raw as Uint16Array);
    case 'BF16':
      return bf16ToF32(raw as Uint16Array);
    case 'F8_E4M3':
      return f8e4m3ToF32(raw as Uint8Array);
    case 'F8_E5M2':
      return f8e5m2ToF32(raw as Uint8Array);
    case 'I64': {
      const src = raw as BigInt64Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = bigintToF32(src[i]);
      return out;
    }
    default:
      // F64, I32, I16, I8, U8, BOOL: the Float32Array constructor rounds each value once (ToNumber is exact).
      return new Float32Array(raw as Float64Array);
  }
}
