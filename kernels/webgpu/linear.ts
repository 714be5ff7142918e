/**
 * Resident Linear layers in WGSL: weights packed once into u32 words (f32 as is; int8 4 per word;
 * int4 8 nibbles per word, the canonical byte layout of kernels/types.ts copied row by row into
 * word-aligned rows), scales f32, zero points f32 (null: symmetric, z = 8).
 *
 * Kernel: one 64-thread workgroup per output row and tile of up to TT tokens. Threads stride over the
 * row's words (consecutive threads read consecutive words: coalesced), dequantize each element as
 * `formats.ts` does (q·s, (q - z)·s: the same f32 product), multiply by x for each token of the tile and
 * accumulate in f32; a workgroup tree reduction sums the 64 partials. So a decode step (T = 1) reads
 * every weight byte exactly once, and prefill reads it once per TT tokens.
 *
 * Matrices over the device's storage-binding limit are split into row blocks, each its own buffers and
 * dispatch writing its own columns of y.
 */
import { ShapeError } from '../../engine/errors.ts';
import { widenBf16Weight } from '../formats.ts';
import type { F32Weight, Int4Weight, Int8Weight, LinearWeight } from '../types.ts';

/** The layouts with a resident kernel; bf16 is widened to f32 before upload (exact). */
export type GpuWeight = F32Weight | Int8Weight | Int4Weight;
import { PARAMS_WGSL } from './params.ts';
import type { GpuTensor, WgpuRuntime } from './runtime.ts';

/** Tokens per workgroup: one weight read feeds this many tokens. */
export const TT = 8;
/** Workgroups along x per row of the dispatch grid (rows beyond it use y). */
const GRID_X = 32768;

interface Part {
  row0: number;
  rows: number;
  w: GpuTensor;
  scales: GpuTensor | null;
  zeros: GpuTensor | null;
}

export interface GpuLinear {
  readonly n: number;
  readonly k: number;
  readonly format: GpuWeight['format'];
  readonly groupSize: number;
  readonly symmetric: boolean;
  readonly parts: Part[];
  readonly perm: GpuTensor | null;
  /** Bytes of packed weight data (what a decode step streams). */
  readonly bytes: number;
}

function wordsPerRow(w: GpuWeight): number {
  if (w.format === 'f32') return w.k;
  if (w.format === 'int8') return Math.ceil(w.k / 4);
  return Math.ceil(w.k / 8);
}

/** Packs rows [r0, r0 + rows) of w into word-aligned u32 rows. */
function packRows(w: GpuWeight, r0: number, rows: number): Uint32Array {
  const kw = wordsPerRow(w);
  const out = new Uint32Array(rows * kw);
  if (w.format === 'f32') {
    new Float32Array(out.buffer).set(w.w.subarray(r0 * w.k, (r0 + rows) * w.k));
    return out;
  }
  const bytes = new Uint8Array(out.buffer);
  const src = w.format === 'int8' ? new Uint8Array(w.q.buffer, w.q.byteOffset, w.q.length) : w.packed;
  const rb = w.format === 'int8' ? w.k : Math.ceil(w.k / 2);
  for (let r = 0; r < rows; r++) bytes.set(src.subarray((r0 + r) * rb, (r0 + r + 1) * rb), r * kw * 4);
  return out;
}

/** Uploads (and packs) a weight once; split into row blocks when one would exceed the binding limit. */
export function uploadLinear(rt: WgpuRuntime, weight: LinearWeight, what = 'linear'): GpuLinear {
  // bf16 is uploaded as the f32 weight it stands for (exact widening: the resident kernels read f32 or packed ints)
  const w: GpuWeight = weight.format === 'bf16' ? widenBf16Weight(weight) : weight;
  const kw = wordsPerRow(w);
  const rowBytes = kw * 4;
  const maxRows = Math.floor(rt.limits.maxBinding / rowBytes);
  if (maxRows < 1) throw new ShapeError(`webgpu: ${what}: one row of ${rowBytes} bytes exceeds the device's storage binding limit`);
  const groupSize = w.format === 'f32' ? w.k : w.groupSize;
  const nG = Math.ceil(w.k / groupSize);
  const parts: Part[] = [];
  let bytes = 0;
  for (let r0 = 0; r0 < w.n; r0 += maxRows) {
    const rows = Math.min(maxRows, w.n - r0);
    const packed = packRows(w, r0, rows);
    bytes += packed.byteLength;
    const part: Part = { row0: r0, rows, w: rt.upload(packed, `${what} weight`), scales: null, zeros: null };
    if (w.format !== 'f32') {
      part.scales = rt.upload(w.scales.subarray(r0 * nG, (r0 + rows) * nG), `${what} scales`);
      if (w.format === 'int4' && w.zeros)
        part.zeros = rt.upload(Float32Array.from(w.zeros.subarray(r0 * nG, (r0 + rows) * nG)), `${what} zeros`);
    }
    parts.push(part);
  }
  return {
    n: w.n,
    k: w.k,
    format: w.format,
    groupSize,
    symmetric: w.format === 'int4' && !w.zeros,
    parts,
    perm: w.perm ? rt.upload(Uint32Array.from(w.perm), `${what} perm`) : null,
    bytes,
  };
}

export function freeLinear(rt: WgpuRuntime, h: GpuLinear): void {
  for (const p of h.parts) {
    rt.free(p.w);
    rt.free(p.scales);
    rt.free(p.zeros);
  }
  rt.free(h.perm);
}

/**
 * Threads per output row: a power of two giving each thread ≥ 16 words of the row (so small K uses few
 * threads and several rows share a 64-thread workgroup), at most 64. TPR = 1 needs no reduction at all:
 * SwiftShader runs workgroup barriers as coroutine switches, so on it a 64-thread row reduction for
 * K = 192 took 1.8 s per 2048-row matvec, 37 ms with 8 threads per row and 4-9x less again with one
 * (measured under load ~24 on the 2-core dev VM): on a software adapter (`serial`) every row is one thread.
 */
export function threadsPerRow(kw: number, serial = false): number {
  if (serial) return 1;
  let t = 1;
  while (t < 64 && t * 2 * 16 <= kw) t *= 2;
  return t;
}

/** The WGSL for one (format, K, group size, zero-point kind, bias, token tile) signature. */
function linearShader(h: GpuLinear, hasBias: boolean, tt: number, serial: boolean): string {
  const { k: K, format } = h;
  const G = h.groupSize;
  const nG = Math.ceil(K / G);
  const kw = format === 'f32' ? K : format === 'int8' ? Math.ceil(K / 4) : Math.ceil(K / 8);
  const per = format === 'f32' ? 1 : format === 'int8' ? 4 : 8;
  const tpr = threadsPerRow(kw, serial);
  const rpw = 64 / tpr;
  const bindings: string[] = ['@group(0) @binding(1) var<storage, read> x: array<f32>;'];
  let b = 2;
  bindings.push(`@group(0) @binding(${b++}) var<storage, read> w: array<${format === 'f32' ? 'f32' : 'u32'}>;`);
  if (format !== 'f32') bindings.push(`@group(0) @binding(${b++}) var<storage, read> sc: array<f32>;`);
  if (format === 'int4' && !h.symmetric) bindings.push(`@group(0) @binding(${b++}) var<storage, read> zp: array<f32>;`);
  if (hasBias) bindings.push(`@group(0) @binding(${b++}) var<storage, read> bias: array<f32>;`);
  bindings.push(`@group(0) @binding(${b++}) var<storage, read_write> y: array<f32>;`);
  let deq: string;
  if (format === 'f32') deq = 'let wv = w[base + j];';
  else if (format === 'int8') deq = 'let wv = f32(extractBits(bitcast<i32>(word), e * 8u, 8u)) * sc[n * NG + kk / G];';
  else if (h.symmetric) deq = 'let wv = (f32(extractBits(word, e * 4u, 4u)) - 8.0) * sc[n * NG + kk / G];';
  else deq = 'let wv = (f32(extractBits(word, e * 4u, 4u)) - zp[n * NG + kk / G]) * sc[n * NG + kk / G];';
  const toks = Array.from({ length: tt }, (_, i) => i);
  // one scalar accumulator per token (no private array: dynamic indexing spills on some compilers)
  // tail tiles re-read the last token instead of branching in the inner loop (stores are guarded)
  const inner = toks.map((i) => (tt === 1 ? `a0 += wv * x[kk];` : `a${i} += wv * x[x${i} + kk];`)).join(' ');
  const body =
    format === 'f32'
      ? `for (var j = lane; j < KW; j += TPR) { let kk = j; ${deq} ${inner} }`
      : `for (var j = lane; j < KW; j += TPR) {
         let word = w[base + j];
         for (var e = 0u; e < ${per}u; e++) {
           let kk = j * ${per}u + e;
           if (kk < K) { ${deq} ${inner} }
         }
       }`;
  const store = (src: (i: number) => string) =>
    toks
      .map((i) => `if (${i}u < tn) { y[(t0 + ${i}u) * p.d + p.c + n] = ${src(i)}${hasBias ? ' + bias[p.e + n]' : ''}; }`)
      .join('\n      ');
  const reduce =
    tpr === 1
      ? `if (n < p.b) {
      ${store((i) => `a${i}`)}
    }`
      : `${toks.map((i) => `red[${i}u * 64u + lid] = a${i};`).join(' ')}
  workgroupBarrier();
  for (var s = TPR / 2u; s > 0u; s >>= 1u) {
    if (lane < s) { ${toks.map((i) => `red[${i}u * 64u + lid] += red[${i}u * 64u + lid + s];`).join(' ')} }
    workgroupBarrier();
  }
  if (n < p.b && lane == 0u) {
      ${store((i) => `red[${i}u * 64u + lid]`)}
  }`;
  return `${PARAMS_WGSL}
${bindings.join('\n')}
const K: u32 = ${K}u; const KW: u32 = ${kw}u; const G: u32 = ${G}u; const NG: u32 = ${nG}u; const TPR: u32 = ${tpr}u;
${tpr > 1 ? `var<workgroup> red: array<f32, ${64 * tt}>;` : ''}
// p.a tokens, p.b rows of this part, p.c its first column in y, p.d y's row width, p.e its first row in W
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % TPR;
  let n = (wid.x + wid.y * ${GRID_X}u) * ${rpw}u + lid / TPR;
  let t0 = wid.z * ${tt}u;
  let tn = min(${tt}u, p.a - t0);
  ${toks.map((i) => `var a${i} = 0.0;`).join(' ')}
  ${tt > 1 ? toks.map((i) => `let x${i} = min(t0 + ${i}u, p.a - 1u) * K;`).join(' ') : ''}
  let base = n * KW;
  if (n < p.b) { ${body} }
  ${reduce}
}`;
}

const GATHER_COLS = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> perm: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
// y[t, j] = x[t, perm[j]]; p.a = K, p.b = total
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.x + gid.y * nw.x * 256u;
  if (i >= p.b) { return; }
  let t = i / p.a;
  y[i] = x[t * p.a + perm[i - t * p.a]];
}`;

/** Workgroup grid for `count` items of 256 threads. */
export function grid256(count: number): [number, number, number] {
  const groups = Math.ceil(count / 256);
  const x = Math.min(groups, 32768);
  return [x, Math.ceil(groups / x), 1];
}

/**
 * Records y[t, :] = x[t, :] · Wᵀ (+ bias) for `rows` tokens; x is [rows, K] and y [rows, N] (both
 * resident). `scratch` (≥ rows·K) is needed only when the weight carries a perm.
 */
export interface LinearOut {
  /** y's row width (default N) and the first column this Linear writes (default 0): Linears reading one input share a y. */
  width?: number;
  col?: number;
  /** Needed (≥ rows·K) only when the weight carries a perm. */
  scratch?: GpuTensor;
}

export function recordLinear(
  rt: WgpuRuntime,
  h: GpuLinear,
  x: GpuTensor,
  rows: number,
  y: GpuTensor,
  bias: GpuTensor | null,
  o: LinearOut = {},
): void {
  const width = o.width ?? h.n;
  const col = o.col ?? 0;
  const scratch = o.scratch;
  if (col + h.n > width) throw new ShapeError(`webgpu linear: columns ${col}..${col + h.n} exceed y's width ${width}`);
  if (x.length < rows * h.k) throw new ShapeError(`webgpu linear: x holds ${x.length} values, [${rows}, ${h.k}] needs ${rows * h.k}`);
  if (y.length < rows * width) throw new ShapeError(`webgpu linear: y holds ${y.length} values, [${rows}, ${width}] needs ${rows * width}`);
  if (bias && bias.length !== h.n) throw new ShapeError(`webgpu linear: bias has ${bias.length} values, want ${h.n}`);
  let input = x;
  if (h.perm) {
    if (!scratch || scratch.length < rows * h.k) throw new ShapeError('webgpu linear: a permuted weight needs a scratch input of rows x K');
    rt.dispatch(GATHER_COLS, [x, h.perm, scratch], { u: [h.k, rows * h.k] }, grid256(rows * h.k));
    input = scratch;
  }
  const tt = rows === 1 ? 1 : Math.min(TT, rows);
  const code = linearShader(h, bias !== null, tt, rt.serial);
  const rpw = 64 / threadsPerRow(h.format === 'f32' ? h.k : h.format === 'int8' ? Math.ceil(h.k / 4) : Math.ceil(h.k / 8), rt.serial);
  for (const part of h.parts) {
    const ts = [input, part.w];
    if (part.scales) ts.push(part.scales);
    if (part.zeros) ts.push(part.zeros);
    if (bias) ts.push(bias);
    ts.push(y);
    const groups = Math.ceil(part.rows / rpw);
    const gx = Math.min(groups, GRID_X);
    rt.dispatch(code, ts, { u: [rows, part.rows, col + part.row0, width, part.row0] }, [
      gx,
      Math.ceil(groups / GRID_X),
      Math.ceil(rows / tt),
    ]);
  }
}
