/**
 * The elementwise work of a forward, one thread, ns per element (medians and minima of interleaved rounds): the
 * finite check (allFinite against a test per element), exp (wasm exp_f64 against Math.exp), silu·up (wasm silu_gate
 * against siluGateRef, the loop the pool ran before) and the prefill quantizer (wasm quant_rows against quantizeRow
 * per row, its definition), the prefill result transpose plus bias (wasm tr_bias at the 0.5B's 32 x 4864, against the
 * JS loop the pool ran until 2026-12-04), RMSNorm and the residual add at a scoring batch's shape (232 x 896: the wasm-simd backend's
 * calls, copies through its memory included, against rmsNormRef and addRef, the JS they replaced). The machine's read bandwidth
 * (1 thread) is measured in the same run for scale.
 * Usage: npm run bench:elementwise -- [--out FILE]
 */
import { loadavg } from 'node:os';
import { activationMax, dotBlocking, dotGatherIndex, quantizeRow } from '../kernels/dot-quant.ts';
import { addRef, rmsNormRef, siluGateRef } from '../kernels/reference/ops.ts';
import { loadKernelModule } from '../kernels/wasm/assemble.ts';
import { createWasmSimdBackend } from '../kernels/wasm/backend.ts';
import { allFinite } from '../models/hook-runner.ts';
import { measureReadBandwidth } from './bandwidth.ts';
import { emitJson } from './emit-json.ts';

const outAt = process.argv.indexOf('--out');
const outFile = outAt > 0 ? process.argv[outAt + 1] : '';
const ROUNDS = 40;
const memory = new WebAssembly.Memory({ initial: 256, maximum: 256, shared: true });
const k = new WebAssembly.Instance(loadKernelModule(), { env: { memory } }).exports as Record<string, (...a: number[]) => void>;

/** ns per element of each variant: interleaved rounds, median and min. */
function race(n: number, variants: Record<string, () => void>) {
  const t: Record<string, number[]> = {};
  for (let r = 0; r < ROUNDS; r++)
    for (const [name, f] of Object.entries(variants)) {
      const t0 = performance.now();
      f();
      (t[name] ??= []).push(((performance.now() - t0) * 1e6) / n);
    }
  return Object.fromEntries(
    Object.entries(t).map(([name, v]) => {
      const s = v.sort((a, b) => a - b);
      return [name, { medianNs: +s[s.length >> 1].toFixed(3), minNs: +s[0].toFixed(3) }];
    }),
  );
}

const loadBefore = loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');
const n = 1 << 16;
const a = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 30);
const perElement = (x: Float32Array) => {
  for (let i = 0; i < x.length; i++) if (x[i] - x[i] !== 0) return false;
  return true;
};
const finite = race(n * 20, {
  allFinite: () => {
    for (let r = 0; r < 20; r++) allFinite(a);
  },
  perElement: () => {
    for (let r = 0; r < 20; r++) perElement(a);
  },
});

const X = new Float64Array(memory.buffer, 0, n).map((_, i) => Math.sin(i) * 10);
let sink = 0;
const exp = race(n, {
  wasm: () => k.exp_f64(0, n * 8, 0, n, 0),
  mathExp: () => {
    for (let i = 0; i < n; i++) sink += Math.exp(X[i]);
  },
});

const G = n * 8,
  U = G + n * 4,
  Y = U + n * 4;
const g = new Float32Array(memory.buffer, G, n).map((_, i) => Math.sin(i) * 6);
const u = new Float32Array(memory.buffer, U, n).map((_, i) => Math.cos(i));
const y = new Float32Array(n);
const silu = race(n, { wasm: () => k.silu_gate(G, U, Y, 0, n, 0), siluGateRef: () => siluGateRef(g, u, y) });

const quant: Record<string, unknown> = {};
for (const kk of [896, 4864]) {
  const t = 32;
  const B = dotBlocking(kk, 128, 16);
  const idx = dotGatherIndex(kk, 128, null, 16);
  const XO = Y + n * 4 + 64,
    GO = XO + t * kk * 4 + 64,
    XQ = GO + B.kp * 4 + 64,
    SX = XQ + t * B.kp * 2 + 64;
  const x = new Float32Array(memory.buffer, XO, t * kk).map((_, i) => Math.sin(i * 0.37));
  new Int32Array(memory.buffer, GO, B.kp).set(idx);
  const xq = new Int16Array(B.kp),
    sx = new Float32Array(B.nb);
  quant[`32x${kk}`] = race(t * kk, {
    wasm: () => k.quant_rows(XO, kk, GO, B.kp, B.bs, activationMax(16), XQ, SX, t, 0, t, 0),
    quantizeRow: () => {
      for (let r = 0; r < t; r++) quantizeRow(x, r * kk, idx, B.bs, xq, 0, sx, 0, null, 0, 16);
    },
  });
}
// The prefill matmul's result (token lanes: element (r, c) at c·32 + r) into 32 rows of 4864, plus the bias.
const trT = 32,
  trN = 4864,
  TY = 4 << 20,
  TB = TY + trT * trN * 4 + 64,
  TO = TB + trN * 4 + 64;
new Float32Array(memory.buffer, TY, trT * trN).forEach((_, i, a) => (a[i] = Math.sin(i * 0.7)));
new Float32Array(memory.buffer, TB, trN).forEach((_, i, a) => (a[i] = Math.cos(i)));
/** The JS kernel tr_bias replaced: 32-column tiles, one f32 rounding of y + b. */
function trBiasJs(): void {
  const yv = new Float32Array(memory.buffer, TY, trT * trN);
  const bv = new Float32Array(memory.buffer, TB, trN);
  const ov = new Float32Array(memory.buffer, TO, trT * trN);
  for (let j0 = 0; j0 < trN; j0 += 32)
    for (let r = 0; r < trT; r++) for (let j = j0; j < Math.min(trN, j0 + 32); j++) ov[r * trN + j] = yv[r + j * trT] + bv[j];
}
const transpose = race(trT * trN, { wasm: () => k.tr_bias(TY, trT, 1, TB, TO, trN, 0, trT, 0), jsLoop: trBiasJs });
const rowsT = 232,
  rowsD = 896;
const one = createWasmSimdBackend({ threads: 1 });
const rx = Float32Array.from({ length: rowsT * rowsD }, (_, i) => Math.sin(i * 0.013));
const rw = Float32Array.from({ length: rowsD }, (_, i) => 1 + Math.cos(i) * 0.1);
const ry = new Float32Array(rowsT * rowsD);
const rows = {
  rmsNorm: race(rowsT * rowsD, {
    wasm: () => one.rmsNorm(rx, rw, rowsT, rowsD, 1e-6, false, ry),
    rmsNormRef: () => rmsNormRef(rx, rw, rowsT, rowsD, 1e-6, false, ry),
  }),
  add: race(rowsT * rowsD, { wasm: () => one.add(rx, ry, ry), addRef: () => addRef(rx, ry, ry) }),
};
one.dispose();
const bw = measureReadBandwidth(1);
const json = {
  bench: 'elementwise',
  date: new Date().toISOString(),
  threads: 1,
  loadavgBefore: loadBefore,
  loadavgAfter: loadavg()
    .map((x) => x.toFixed(2))
    .join(' '),
  readBandwidth1T: { medianGBs: +bw.medianGBs.toFixed(1), bestGBs: +bw.bestGBs.toFixed(1) },
  finite,
  exp,
  silu,
  quant,
  trBias32x4864: transpose,
  rows232x896: rows,
  sink: sink > 0,
};
console.log('ns per element (median / min), 1 thread; read bandwidth 1T', json.readBandwidth1T.medianGBs, 'GB/s');
const row = (what: string, r: Record<string, { medianNs: number; minNs: number }>) =>
  console.log(
    what.padEnd(22),
    Object.entries(r)
      .map(([n2, v]) => `${n2} ${v.medianNs} / ${v.minNs}`)
      .join('   '),
  );
row('finite check', finite);
row('exp', exp);
row('silu·up', silu);
for (const [s, r] of Object.entries(quant)) row(`quantizer ${s}`, r as Record<string, { medianNs: number; minNs: number }>);
row('tr_bias 32x4864', transpose);
row('RMSNorm 232x896', rows.rmsNorm);
row('add 232x896', rows.add);
emitJson(json, outFile);
