/**
 * The non-Linear ops of a forward pass as WGSL kernels over resident tensors, each recorded into the
 * runtime's current encoder (no submit, no readback). Each is the GPU twin of a reference op in
 * kernels/reference/ops.ts (or analysis' intervention math) and is property-tested against it
 * (test/webgpu-resident-ops.test.ts). Row ops use one 64-thread workgroup per row with a tree reduction;
 * elementwise ops 256 threads per workgroup. All arithmetic is f32.
 */
import { ShapeError } from '../../engine/errors.ts';
import { grid256 } from './linear.ts';
import { PARAMS_WGSL } from './params.ts';
import type { GpuTensor, WgpuRuntime } from './runtime.ts';

const GRID_X = 32768;
const rowGrid = (rows: number): [number, number, number] => [Math.min(rows, GRID_X), Math.ceil(rows / GRID_X), 1];

const ELEM_HEAD = `@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.x + gid.y * nw.x * 256u;`;

const ROW_HEAD = `var<workgroup> red: array<f32, 64>;
fn reduce(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}`;

/** Serial variants (software adapters, see WgpuRuntime.serial): one thread per row, 64 rows per workgroup. */
const SERIAL_HEAD = `@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let r = gid.x + gid.y * nw.x * 64u;`;
const serialGrid = (rows: number): [number, number, number] => {
  const g = Math.ceil(rows / 64);
  const x = Math.min(g, GRID_X);
  return [x, Math.ceil(g / x), 1];
};

function need(t: GpuTensor, n: number, what: string): void {
  if (t.length < n) throw new ShapeError(`webgpu ${what}: tensor holds ${t.length} values, needs ${n}`);
}

const ADD = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${ELEM_HEAD}
  if (i >= p.a) { return; }
  y[i] = a[i] + b[i];
}`;

/** y = a + b over n elements. */
export function recordAdd(rt: WgpuRuntime, a: GpuTensor, b: GpuTensor, y: GpuTensor, n: number): void {
  need(a, n, 'add a');
  need(b, n, 'add b');
  need(y, n, 'add y');
  rt.dispatch(ADD, [a, b, y], { u: [n] }, grid256(n));
}

const SILU_GATE = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> gu: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
// gu rows are [gate (M) | up (M)]; p.a = rows * M, p.b = M
${ELEM_HEAD}
  if (i >= p.a) { return; }
  let r = i / p.b;
  let c = i - r * p.b;
  let g = gu[r * 2u * p.b + c];
  y[i] = (g / (1.0 + exp(-g))) * gu[r * 2u * p.b + p.b + c];
}`;

/** y [rows, M] = silu(gate) · up, from gu [rows, 2M] holding gate | up per row. */
export function recordSiluGate(rt: WgpuRuntime, gu: GpuTensor, y: GpuTensor, rows: number, m: number): void {
  need(gu, rows * 2 * m, 'siluGate input');
  need(y, rows * m, 'siluGate output');
  rt.dispatch(SILU_GATE, [gu, y], { u: [rows * m, m] }, grid256(rows * m));
}

const GELU = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${ELEM_HEAD}
  if (i >= p.a) { return; }
  let v = x[i];
  // clamped: tanh(±15) is ±1 in f32 already, and some WGSL tanh implementations return NaN beyond
  let z = clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), -15.0, 15.0);
  y[i] = 0.5 * v * (1.0 + tanh(z));
}`;

/** GPT-2 gelu_new elementwise. */
export function recordGelu(rt: WgpuRuntime, x: GpuTensor, y: GpuTensor, n: number): void {
  need(x, n, 'gelu x');
  need(y, n, 'gelu y');
  rt.dispatch(GELU, [x, y], { u: [n] }, grid256(n));
}

const RMS = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${ROW_HEAD}
// p.a rows, p.b d, p.c addOne, p.x eps
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * ${GRID_X}u;
  if (r >= p.a) { return; }
  let o = r * p.b;
  var ss = 0.0;
  for (var c = lid; c < p.b; c += 64u) { let v = x[o + c]; ss += v * v; }
  let inv = 1.0 / sqrt(reduce(lid, ss) / f32(p.b) + p.x);
  for (var c = lid; c < p.b; c += 64u) {
    let g = select(w[c], 1.0 + w[c], p.c != 0u);
    y[o + c] = x[o + c] * inv * g;
  }
}`;

const RMS_SERIAL = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${SERIAL_HEAD}
  if (r >= p.a) { return; }
  let o = r * p.b;
  var ss = 0.0;
  for (var c = 0u; c < p.b; c++) { let v = x[o + c]; ss += v * v; }
  let inv = 1.0 / sqrt(ss / f32(p.b) + p.x);
  for (var c = 0u; c < p.b; c++) { y[o + c] = x[o + c] * inv * select(w[c], 1.0 + w[c], p.c != 0u); }
}`;

export function recordRmsNorm(
  rt: WgpuRuntime,
  x: GpuTensor,
  w: GpuTensor,
  y: GpuTensor,
  rows: number,
  d: number,
  eps: number,
  addOne = false,
): void {
  need(x, rows * d, 'rmsNorm x');
  need(w, d, 'rmsNorm weight');
  need(y, rows * d, 'rmsNorm y');
  if (rt.serial) return rt.dispatch(RMS_SERIAL, [x, w, y], { u: [rows, d, addOne ? 1 : 0], f: [eps] }, serialGrid(rows));
  rt.dispatch(RMS, [x, w, y], { u: [rows, d, addOne ? 1 : 0], f: [eps] }, rowGrid(rows));
}

const LAYER = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bb: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
${ROW_HEAD}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * ${GRID_X}u;
  if (r >= p.a) { return; }
  let o = r * p.b;
  var s = 0.0;
  for (var c = lid; c < p.b; c += 64u) { s += x[o + c]; }
  let mean = reduce(lid, s) / f32(p.b);
  var v = 0.0;
  for (var c = lid; c < p.b; c += 64u) { let e = x[o + c] - mean; v += e * e; }
  let inv = 1.0 / sqrt(reduce(lid, v) / f32(p.b) + p.x);
  for (var c = lid; c < p.b; c += 64u) { y[o + c] = (x[o + c] - mean) * inv * w[c] + bb[c]; }
}`;

const LAYER_SERIAL = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bb: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
${SERIAL_HEAD}
  if (r >= p.a) { return; }
  let o = r * p.b;
  var s = 0.0;
  for (var c = 0u; c < p.b; c++) { s += x[o + c]; }
  let mean = s / f32(p.b);
  var v = 0.0;
  for (var c = 0u; c < p.b; c++) { let e = x[o + c] - mean; v += e * e; }
  let inv = 1.0 / sqrt(v / f32(p.b) + p.x);
  for (var c = 0u; c < p.b; c++) { y[o + c] = (x[o + c] - mean) * inv * w[c] + bb[c]; }
}`;

export function recordLayerNorm(
  rt: WgpuRuntime,
  x: GpuTensor,
  w: GpuTensor,
  b: GpuTensor,
  y: GpuTensor,
  rows: number,
  d: number,
  eps: number,
): void {
  need(x, rows * d, 'layerNorm x');
  need(w, d, 'layerNorm weight');
  need(b, d, 'layerNorm bias');
  need(y, rows * d, 'layerNorm y');
  if (rt.serial) return rt.dispatch(LAYER_SERIAL, [x, w, b, y], { u: [rows, d], f: [eps] }, serialGrid(rows));
  rt.dispatch(LAYER, [x, w, b, y], { u: [rows, d], f: [eps] }, rowGrid(rows));
}

const EMBED = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
// p.a rows * d, p.b d, p.c first table row held here, p.d rows held here
${ELEM_HEAD}
  if (i >= p.a) { return; }
  let r = i / p.b;
  let c = i - r * p.b;
  let id = ids[r];
  if (id >= p.c && id < p.c + p.d) { y[i] = table[(id - p.c) * p.b + c]; }
}`;

/** A [V, d] table resident in row blocks (each within the storage binding limit). */
export interface GpuTable {
  d: number;
  rows: number;
  parts: { row0: number; rows: number; t: GpuTensor }[];
}

export function uploadTable(rt: WgpuRuntime, table: Float32Array, d: number, what: string): GpuTable {
  const rows = table.length / d;
  const per = Math.max(1, Math.floor(rt.limits.maxBinding / (d * 4)));
  const parts = [];
  for (let r0 = 0; r0 < rows; r0 += per) {
    const n = Math.min(per, rows - r0);
    parts.push({ row0: r0, rows: n, t: rt.upload(table.subarray(r0 * d, (r0 + n) * d), what) });
  }
  return { d, rows, parts };
}

/** y [n, d] = table rows at ids (u32 tensor of n ids, each < V). */
export function recordEmbedding(rt: WgpuRuntime, table: GpuTable, ids: GpuTensor, n: number, y: GpuTensor): void {
  need(ids, n, 'embedding ids');
  need(y, n * table.d, 'embedding y');
  for (const part of table.parts)
    rt.dispatch(EMBED, [part.t, ids, y], { u: [n * table.d, table.d, part.row0, part.rows] }, grid256(n * table.d));
}

const ROPE = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> cs: array<f32>;
// in place on heads at columns [p.e, p.e + p.b * p.c) of rows of width p.d; p.a = rows * heads * half
${ELEM_HEAD}
  if (i >= p.a) { return; }
  let half = p.c / 2u;
  let r = i / (p.b * half);
  let rem = i - r * p.b * half;
  let h = rem / half;
  let c = rem - h * half;
  let o = r * p.d + p.e + h * p.c + c;
  let co = cs[r * p.c + c];
  let sn = cs[r * p.c + half + c];
  let a = x[o];
  let b = x[o + half];
  x[o] = a * co - b * sn;
  x[o + half] = b * co + a * sn;
}`;

/**
 * rotate_half RoPE in place on `heads` heads of width hd starting at column `col` of x's rows (width
 * `width`). cs [rows, hd] holds cos (first half) and sin (second half) of each row's angles, computed by
 * the caller in f32 as HF does (ropeTables).
 */
export function recordRope(
  rt: WgpuRuntime,
  x: GpuTensor,
  cs: GpuTensor,
  rows: number,
  heads: number,
  hd: number,
  width: number,
  col: number,
): void {
  need(x, rows * width, 'rope x');
  need(cs, rows * hd, 'rope cos/sin');
  const n = rows * heads * (hd / 2);
  rt.dispatch(ROPE, [x, cs], { u: [n, heads, hd, width, col] }, grid256(n));
}

/** cos | sin of fround(pos · invFreq) per row (positions clamped at 0, as the CPU path does for padding). */
export function ropeTables(pos: Int32Array, invFreq: Float32Array): Float32Array {
  const half = invFreq.length;
  const out = new Float32Array(pos.length * half * 2);
  for (let r = 0; r < pos.length; r++) {
    const p = Math.max(pos[r], 0);
    for (let c = 0; c < half; c++) {
      const ang = Math.fround(p * invFreq[c]);
      out[r * 2 * half + c] = Math.cos(ang);
      out[r * 2 * half + half + c] = Math.sin(ang);
    }
  }
  return out;
}

const KV_WRITE = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> kc: array<f32>;
@group(0) @binding(3) var<storage, read_write> vc: array<f32>;
// p.a rows * kvw, p.b T, p.c cap, p.d first slot, p.e kvw, p.f qkv width, p.g k column, p.h v column
${ELEM_HEAD}
  if (i >= p.a) { return; }
  let r = i / p.e;
  let c = i - r * p.e;
  let b = r / p.b;
  let t = r - b * p.b;
  let dst = (b * p.c + p.d + t) * p.e + c;
  kc[dst] = qkv[r * p.f + p.g + c];
  vc[dst] = qkv[r * p.f + p.h + c];
}`;

export interface KvLayout {
  batch: number;
  /** Slots per row. */
  cap: number;
  nKvHeads: number;
  headDim: number;
}

/** Writes the T new keys/values of every row (columns kCol / vCol of qkv [batch·T, width]) at slot `at`. */
export function recordKvWrite(
  rt: WgpuRuntime,
  qkv: GpuTensor,
  kc: GpuTensor,
  vc: GpuTensor,
  kv: KvLayout,
  t: number,
  at: number,
  width: number,
  kCol: number,
  vCol: number,
): void {
  const kvw = kv.nKvHeads * kv.headDim;
  if (at + t > kv.cap) throw new ShapeError(`webgpu KV cache full: ${at} + ${t} > ${kv.cap}`);
  need(kc, kv.batch * kv.cap * kvw, 'kv cache');
  need(vc, kv.batch * kv.cap * kvw, 'kv cache');
  const n = kv.batch * t * kvw;
  rt.dispatch(KV_WRITE, [qkv, kc, vc], { u: [n, t, kv.cap, at, kvw, width, kCol, vCol] }, grid256(n));
}

const ATTENTION = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> kc: array<f32>;
@group(0) @binding(3) var<storage, read> vc: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@group(0) @binding(5) var<storage, read_write> pat: array<f32>;
@group(0) @binding(6) var<storage, read_write> z: array<f32>;
var<workgroup> red: array<f32, 64>;
// p.a T, p.b S, p.c cap, p.d nHeads, p.e nKvHeads, p.f headDim, p.g qkv width, p.h batch, p.x scale
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let bhi = wid.x + wid.y * ${GRID_X}u;
  if (bhi >= p.h * p.d * p.a) { return; }
  let i = bhi % p.a;
  let h = (bhi / p.a) % p.d;
  let b = bhi / (p.a * p.d);
  let hd = p.f;
  let kvw = p.e * hd;
  let kh = h / (p.d / p.e);
  let last = p.b - p.a + i;
  let qo = (b * p.a + i) * p.g + h * hd;
  let po = bhi * p.b;
  let NEG = -3.0e38;
  var mx = NEG;
  for (var j = lid; j < p.b; j += 64u) {
    var s = NEG;
    if (j <= last && mask[b * p.c + j] != 0u) {
      let ko = (b * p.c + j) * kvw + kh * hd;
      var dot = 0.0;
      for (var c = 0u; c < hd; c++) { dot += qkv[qo + c] * kc[ko + c]; }
      s = dot * p.x;
      mx = max(mx, s);
    }
    pat[po + j] = s;
  }
  red[lid] = mx;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let m = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var j = lid; j < p.b; j += 64u) {
    let s = pat[po + j];
    var e = 0.0;
    if (s > NEG) { e = exp(s - m); }
    pat[po + j] = e;
    sum += e;
  }
  red[lid] = sum;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  for (var j = lid; j < p.b; j += 64u) {
    pat[po + j] = select(0.0, pat[po + j] / total, total > 0.0);
  }
  storageBarrier();
  workgroupBarrier();
  let zo = (b * p.a + i) * p.d * hd + h * hd;
  for (var c = lid; c < hd; c += 64u) {
    var acc = 0.0;
    for (var j = 0u; j <= last; j++) {
      acc += pat[po + j] * vc[(b * p.c + j) * kvw + kh * hd + c];
    }
    z[zo + c] = acc;
  }
}`;

const ATTENTION_SERIAL = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> kc: array<f32>;
@group(0) @binding(3) var<storage, read> vc: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<u32>;
@group(0) @binding(5) var<storage, read_write> pat: array<f32>;
@group(0) @binding(6) var<storage, read_write> z: array<f32>;
${SERIAL_HEAD}
  let bhi = r;
  if (bhi >= p.h * p.d * p.a) { return; }
  let i = bhi % p.a;
  let h = (bhi / p.a) % p.d;
  let b = bhi / (p.a * p.d);
  let hd = p.f;
  let kvw = p.e * hd;
  let kh = h / (p.d / p.e);
  let last = p.b - p.a + i;
  let qo = (b * p.a + i) * p.g + h * hd;
  let po = bhi * p.b;
  let NEG = -3.0e38;
  var mx = NEG;
  for (var j = 0u; j < p.b; j++) {
    var s = NEG;
    if (j <= last && mask[b * p.c + j] != 0u) {
      let ko = (b * p.c + j) * kvw + kh * hd;
      var dot = 0.0;
      for (var c = 0u; c < hd; c++) { dot += qkv[qo + c] * kc[ko + c]; }
      s = dot * p.x;
      mx = max(mx, s);
    }
    pat[po + j] = s;
  }
  var total = 0.0;
  for (var j = 0u; j < p.b; j++) {
    let s = pat[po + j];
    var e = 0.0;
    if (s > NEG) { e = exp(s - mx); }
    pat[po + j] = e;
    total += e;
  }
  for (var j = 0u; j < p.b; j++) { pat[po + j] = select(0.0, pat[po + j] / total, total > 0.0); }
  let zo = (b * p.a + i) * p.d * hd + h * hd;
  for (var c = 0u; c < hd; c++) { z[zo + c] = 0.0; }
  for (var j = 0u; j <= last; j++) {
    let pj = pat[po + j];
    if (pj != 0.0) {
      let vo = (b * p.c + j) * kvw + kh * hd;
      for (var c = 0u; c < hd; c++) { z[zo + c] += pj * vc[vo + c]; }
    }
  }
}`;

export interface AttentionCall {
  /** [batch·T, width]: queries at columns [0, nHeads·hd). */
  qkv: GpuTensor;
  width: number;
  kc: GpuTensor;
  vc: GpuTensor;
  /** [batch, cap] u32, 1 = real token. */
  mask: GpuTensor;
  kv: KvLayout;
  nHeads: number;
  t: number;
  /** Slots in use including the T new ones. */
  s: number;
  scale: number;
  /** [batch, nHeads, T, S] probabilities (scratch; the hook_pattern activation). */
  pattern: GpuTensor;
  /** [batch·T, nHeads·hd]. */
  z: GpuTensor;
}

/**
 * Causal GQA attention over the resident cache with its padding mask (attentionRef's definition: a query
 * that sees no key gives zeros).
 */
export function recordAttention(rt: WgpuRuntime, a: AttentionCall): void {
  const { kv, nHeads, t, s } = a;
  if (nHeads % kv.nKvHeads !== 0) throw new ShapeError(`webgpu attention: ${nHeads} heads over ${kv.nKvHeads} KV heads`);
  if (s > kv.cap || t > s) throw new ShapeError(`webgpu attention: ${t} queries over ${s} slots of ${kv.cap}`);
  need(a.pattern, kv.batch * nHeads * t * s, 'attention pattern');
  need(a.z, kv.batch * t * nHeads * kv.headDim, 'attention z');
  need(a.mask, kv.batch * kv.cap, 'attention mask');
  const groups = kv.batch * nHeads * t;
  if (rt.serial)
    return rt.dispatch(
      ATTENTION_SERIAL,
      [a.qkv, a.kc, a.vc, a.mask, a.pattern, a.z],
      { u: [t, s, kv.cap, nHeads, kv.nKvHeads, kv.headDim, a.width, kv.batch], f: [a.scale] },
      serialGrid(groups),
    );
  rt.dispatch(
    ATTENTION,
    [a.qkv, a.kc, a.vc, a.mask, a.pattern, a.z],
    { u: [t, s, kv.cap, nHeads, kv.nKvHeads, kv.headDim, a.width, kv.batch], f: [a.scale] },
    rowGrid(groups),
  );
}

const PROJECT_OUT = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> dir: array<f32>;
${ROW_HEAD}
// p.a rows, p.b d
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * ${GRID_X}u;
  if (r >= p.a) { return; }
  let o = r * p.b;
  var s = 0.0;
  for (var c = lid; c < p.b; c += 64u) { s += x[o + c] * dir[c]; }
  let dot = reduce(lid, s);
  for (var c = lid; c < p.b; c += 64u) { x[o + c] -= dot * dir[c]; }
}`;

/** In place: every row x of [rows, d] becomes x - (x·dir) dir (dir a unit vector: directional ablation). */
const PROJECT_OUT_SERIAL = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> dir: array<f32>;
${SERIAL_HEAD}
  if (r >= p.a) { return; }
  let o = r * p.b;
  var dot = 0.0;
  for (var c = 0u; c < p.b; c++) { dot += x[o + c] * dir[c]; }
  for (var c = 0u; c < p.b; c++) { x[o + c] -= dot * dir[c]; }
}`;

export function recordProjectOut(rt: WgpuRuntime, x: GpuTensor, dir: GpuTensor, rows: number, d: number): void {
  need(x, rows * d, 'projectOut x');
  need(dir, d, 'projectOut direction');
  if (rt.serial) return rt.dispatch(PROJECT_OUT_SERIAL, [x, dir], { u: [rows, d] }, serialGrid(rows));
  rt.dispatch(PROJECT_OUT, [x, dir], { u: [rows, d] }, rowGrid(rows));
}

const ADD_VECTOR = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
// p.a rows * d, p.b d, p.x coeff
${ELEM_HEAD}
  if (i >= p.a) { return; }
  x[i] += p.x * v[i % p.b];
}`;

/** In place: every row += coeff · v (activation addition). */
export function recordAddVector(rt: WgpuRuntime, x: GpuTensor, v: GpuTensor, coeff: number, rows: number, d: number): void {
  need(x, rows * d, 'addVector x');
  need(v, d, 'addVector vector');
  rt.dispatch(ADD_VECTOR, [x, v], { u: [rows * d, d], f: [coeff] }, grid256(rows * d));
}

const GATHER_ROWS = `${PARAMS_WGSL}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
// p.a n * d, p.b d, p.c first element of y written
${ELEM_HEAD}
  if (i >= p.a) { return; }
  let r = i / p.b;
  y[p.c + i] = x[idx[r] * p.b + i - r * p.b];
}`;

/** y[at + i·d ..] = x rows idx[i] (n of them, width d): last-position logits input, cached positions. */
export function recordGatherRows(rt: WgpuRuntime, x: GpuTensor, idx: GpuTensor, n: number, d: number, y: GpuTensor, at = 0): void {
  need(idx, n, 'gatherRows index');
  need(y, at + n * d, 'gatherRows y');
  rt.dispatch(GATHER_ROWS, [x, idx, y], { u: [n * d, d, at] }, grid256(n * d));
}
