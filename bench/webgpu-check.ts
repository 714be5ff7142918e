/**
 * WebGPU check for a machine with a GPU driver: runs every gpu.js op on the webgpu backend against the
 * plain-TS reference, then times batch-1 linears, and prints one JSON object. Exit code 1 when a check
 * fails, 2 when no adapter answers.
 *
 *   node --import tsx bench/webgpu-check.ts [--shape 4096x11008] [--calls 5] [--mode webgpu]
 *
 * `--mode webasm|cpu` runs the same checks on a CPU mode (to validate the script where no GPU exists).
 *
 * Error measure: max |y - ref| / max|ref| per op (linear: per output over Σ|W·x|, the scale of the
 * f32 summation bound); `limit` is a loose f32 budget (K·2^-24 for sums of K terms, 1e-5 otherwise).
 */
import { hfInvFreq } from '../models/rope.ts';
import { createGpujsBackend } from '../kernels/gpujs/backend.ts';
import { webgpuAvailable } from '../kernels/gpujs/webgpu.ts';
import { dequantize } from '../kernels/formats.ts';
import * as ref from '../kernels/reference/ops.ts';
import type { Backend, LinearWeight } from '../kernels/types.ts';
import { benchWeight, type BenchFormat } from './gpujs-shapes.ts';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const [benchK, benchN] = arg('shape', '4096x11008').split('x').map(Number);
const calls = Number(arg('calls', '5'));
const mode = arg('mode', 'webgpu') as 'webgpu' | 'webasm' | 'cpu';
const U = 2 ** -24;

let seed = 12345;
const rnd = (n: number, scale = 1) =>
  Float32Array.from({ length: n }, () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return ((seed / 2 ** 32) * 2 - 1) * scale;
  });

function relErr(y: Float32Array, r: Float32Array): number {
  let e = 0;
  let m = 0;
  for (let i = 0; i < r.length; i++) ((e = Math.max(e, Math.abs(y[i] - r[i]))), (m = Math.max(m, Math.abs(r[i]))));
  return y.length !== r.length || Number.isNaN(e) ? Infinity : e / (m || 1);
}

function linearErr(w: LinearWeight, x: Float32Array, t: number, y: Float32Array): number {
  const W = dequantize(w);
  let worst = 0;
  for (let i = 0; i < t; i++)
    for (let j = 0; j < w.n; j++) {
      let s = 0;
      let a = 0;
      for (let c = 0; c < w.k; c++) ((s += W[j * w.k + c] * x[i * w.k + c]), (a += Math.abs(W[j * w.k + c] * x[i * w.k + c])));
      worst = Math.max(worst, Math.abs(y[i * w.n + j] - s) / (a || 1));
    }
  return Number.isNaN(worst) ? Infinity : worst;
}

async function checks(be: Backend) {
  const out: { op: string; err: number; limit: number; ok: boolean }[] = [];
  const push = (op: string, err: number, limit: number) => out.push({ op, err, limit, ok: err <= limit });
  for (const [n, k, t] of [
    [37, 70, 3],
    [300, 257, 1],
  ]) {
    const ws: LinearWeight[] = [
      { format: 'f32', n, k, w: rnd(n * k) },
      { format: 'int8', n, k, groupSize: 32, q: Int8Array.from(rnd(n * k, 127), Math.round), scales: rnd(n * Math.ceil(k / 32), 0.02) },
      {
        format: 'int4',
        n,
        k,
        groupSize: 32,
        packed: Uint8Array.from(rnd(n * Math.ceil(k / 2), 255), Math.abs),
        scales: rnd(n * Math.ceil(k / 32), 0.02),
        zeros: Uint8Array.from(rnd(n * Math.ceil(k / 32), 15), Math.abs),
        perm: Int32Array.from({ length: k }, (_, i) => k - 1 - i),
      },
    ];
    for (const w of ws) {
      const x = rnd(t * k);
      const y = await be.linear(be.uploadLinear(w), x, t);
      push(`linear ${w.format} ${t}x${k}x${n}`, linearErr(w, x, t, y), (k / 4 + 40) * U);
    }
  }
  const t = 5,
    d = 96,
    H = 4,
    KV = 2,
    hd = 16,
    s = 70;
  const x = rnd(t * d, 10),
    w = rnd(d),
    b = rnd(d);
  push('rmsNorm', relErr(await be.rmsNorm(x, w, t, d, 1e-5, true), ref.rmsNormRef(x, w, t, d, 1e-5, true)), 1e-5);
  push('layerNorm', relErr(await be.layerNorm(x, w, b, t, d, 1e-5), ref.layerNormRef(x, w, b, t, d, 1e-5)), 1e-5);
  const xr = rnd(t * H * hd),
    pos = Int32Array.from([0, 1, 100, 2048, 8000]),
    inv = hfInvFreq({ dim: hd, theta: 10000, scaling: { type: 'none' } });
  push('rope', relErr(await be.rope(xr, pos, t, H, hd, inv), ref.ropeRef(xr, pos, t, H, hd, inv)), 1e-5);
  const keyValid = Uint8Array.from({ length: s }, (_, j) => (j < 3 ? 0 : 1));
  const a = {
    q: rnd(t * H * hd, 2),
    k: rnd(s * KV * hd, 2),
    v: rnd(s * KV * hd),
    t,
    s,
    nHeads: H,
    nKvHeads: KV,
    headDim: hd,
    keyValid,
    scale: 0.25,
  };
  const p1 = new Float32Array(H * t * s),
    p2 = new Float32Array(H * t * s);
  push('attention', relErr(await be.attention({ ...a, patternOut: p1 }), ref.attentionRef({ ...a, patternOut: p2 })), 1e-5);
  push('attention pattern', relErr(p1, p2), 1e-5);
  const g = rnd(1000, 30),
    u = rnd(1000, 3);
  push('siluGate', relErr(await be.siluGate(g, u), ref.siluGateRef(g, u)), 1e-5);
  push('gelu', relErr(await be.gelu(g), ref.geluRef(g)), 1e-5);
  push('add', relErr(await be.add(g, u), ref.addRef(g, u)), 0);
  const table = rnd(50 * d),
    ids = Int32Array.from([49, 0, 7]);
  push('embedding', relErr(await be.embedding(table, ids, d), ref.embeddingRef(table, ids, d)), 0);
  return out;
}

async function timings(be: Backend) {
  const rows = [];
  for (const format of ['f32', 'int8', 'int4'] as BenchFormat[]) {
    const h = be.uploadLinear(benchWeight(format, benchN, benchK));
    const x = rnd(benchK);
    let t0 = performance.now();
    await be.linear(h, x, 1);
    const firstCallMs = performance.now() - t0;
    const ts: number[] = [];
    for (let i = 0; i < calls; i++) {
      t0 = performance.now();
      await be.linear(h, x, 1);
      ts.push(performance.now() - t0);
    }
    const ms = ts.sort((p, q) => p - q)[ts.length >> 1];
    rows.push({
      format,
      shape: `1x${benchK}x${benchN}`,
      firstCallMs: +firstCallMs.toFixed(1),
      ms: +ms.toFixed(3),
      gflops: +((2 * benchN * benchK) / ms / 1e6).toFixed(2),
    });
  }
  return rows;
}

if (mode === 'webgpu' && !(await webgpuAvailable())) {
  console.log(JSON.stringify({ adapter: false, note: 'no WebGPU adapter: navigator.gpu.requestAdapter() returned null' }));
  process.exit(2);
}
const be = await createGpujsBackend(mode);
const result: Record<string, unknown> = { mode, adapter: mode === 'webgpu' };
try {
  result.checks = await checks(be);
  result.linearTimings = await timings(be);
} catch (e) {
  result.error = String((e as Error)?.stack ?? e);
}
be.dispose();
const ok = !result.error && (result.checks as { ok: boolean }[]).every((c) => c.ok);
console.log(JSON.stringify({ ...result, ok }, null, 1));
process.exit(ok ? 0 : 1);
