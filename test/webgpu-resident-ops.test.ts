/**
 * The resident WGSL kernels (kernels/webgpu/) against the plain-TS references, on whatever WebGPU adapter
 * exists (SwiftShader in CI; GLASSBOX_REQUIRE_WEBGPU=1 turns a missing adapter into a failure).
 *
 * Bounds. Linear: each of 64 threads sums ⌈K/64⌉ products sequentially, a 6-level tree adds the 64
 * partials, and W = q·s is the reference's own f32 product, so |y - ref| ≤ (⌈K/64⌉ + 8)·u·Σ|W·x| (Higham
 * §4.2, with slack 1) + 2u|bias| (serial variant: one thread sums all K: (K + 1)·u); the tiled prefill GEMM (T > 8) sums 32-wide K chunks
 * sequentially and the chunk sums in order: (32 + ⌈K/32⌉ + 2)·u·Σ|W·x| (sumTerms); a device that flushes subnormals (SwiftShader) may lose < 2^-126 per
 * product and partial sum: + 2K·2^-126. Row ops use the same tree over d/64-term partials. WGSL promises
 * exp to 3 + 2|x| ULP only (1 ULP ≤ 2u relative): siluGate and the softmax carry that term.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../engine/errors.ts';
import { webgpuAvailable } from '../kernels/gpujs/webgpu.ts';
import * as ref from '../kernels/reference/ops.ts';
import type { AttentionArgs } from '../kernels/types.ts';
import { dequantize } from '../kernels/formats.ts';
import { GEMM_BK, recordLinear, TT, uploadLinear } from '../kernels/webgpu/linear.ts';
import * as ops from '../kernels/webgpu/ops.ts';
import { WgpuRuntime } from '../kernels/webgpu/runtime.ts';
import { expectWithin, randoms, U } from './helpers/gpujs.ts';
import { caseArb, inputOf, makeWeight } from './helpers/gpujs-linear-suite.ts';

const available = await webgpuAvailable();
const required = process.env.GLASSBOX_REQUIRE_WEBGPU === '1';
const TINY = 2 ** -126;

/**
 * The rounding count of a resident linear's sums: the tiled prefill GEMM (T > TT) sums a BK-wide chunk
 * sequentially and the ⌈K/BK⌉ chunk sums in order; the matvec (T ≤ TT) sums ⌈K/64⌉ products per thread and a
 * 6-level tree (parallel variant), or all K in one thread (serial variant).
 */
const sumTerms = (k: number, t: number, serial: boolean) =>
  t > TT ? GEMM_BK + Math.ceil(k / GEMM_BK) + 2 : serial ? k + 1 : Math.ceil(k / 64) + 8;

describe.skipIf(available || !required)('resident webgpu kernels without an adapter', () => {
  it('GLASSBOX_REQUIRE_WEBGPU=1: an adapter must exist', () => expect.fail('no WebGPU adapter'));
});

// Both kernel variants on whatever adapter runs the tests: serial (one thread per row: what a software
// adapter uses) and parallel (workgroup reductions: what a hardware GPU uses).
for (const serial of [true, false])
  describe.skipIf(!available)(`resident webgpu kernels vs the references (${serial ? 'serial' : 'workgroup-parallel'})`, () => {
    let rt: WgpuRuntime;
    beforeAll(async () => {
      rt = await WgpuRuntime.create();
      rt.serial = serial;
    });
    afterAll(() => rt?.dispose());
    const read = async (t: Parameters<WgpuRuntime['free']>[0] & object) => (await rt.read([{ t }]))[0];

    for (const format of ['f32', 'int8', 'int4'] as const) {
      it(`linear ${format} (any K, N, group size, perm, bias, T) within the summation bound`, async () => {
        await fc.assert(
          fc.asyncProperty(caseArb(format), fc.constantFrom(1, 2, 9, 17, 40), async (c, t) => {
            c = { ...c, t };
            const w = makeWeight(c);
            const x = inputOf(c);
            const bias = c.bias ? randoms(c.seed + 6, c.n, 3) : null;
            const h = uploadLinear(rt, w);
            const xt = rt.upload(x, 'x');
            const y = rt.tensor(c.t * (c.n + 3), 'y');
            const bt = bias ? rt.upload(bias, 'bias') : null;
            const scratch = rt.tensor(c.t * c.k, 'scratch');
            // write into columns [2, 2 + N) of a wider y, as fused q|k|v groups do
            recordLinear(rt, h, xt, c.t, y, bt, { width: c.n + 3, col: 2, scratch });
            const got = await read(y);
            const W = dequantize(w);
            const r = ref.linearRef(w, x, c.t, bias);
            const sub = new Float32Array(c.t * c.n);
            for (let i = 0; i < c.t; i++) sub.set(got.subarray(i * (c.n + 3) + 2, i * (c.n + 3) + 2 + c.n), i * c.n);
            expectWithin(
              sub,
              r,
              (i) => {
                const tok = Math.floor(i / c.n);
                const n = i % c.n;
                let a = 0;
                for (let k = 0; k < c.k; k++) a += Math.abs(W[n * c.k + k] * x[tok * c.k + k]);
                return sumTerms(c.k, c.t, serial) * U * a + (bias ? 2 * U * Math.abs(bias[n]) : 0) + 2 * c.k * TINY;
              },
              `webgpu resident linear ${JSON.stringify(c)}`,
            );
            for (let i = 0; i < c.t; i++)
              expect([got[i * (c.n + 3)], got[i * (c.n + 3) + 1], got[i * (c.n + 3) + c.n + 2]]).toEqual([0, 0, 0]);
            for (const tt of [xt, y, bt, scratch]) rt.free(tt);
          }),
          // capped: every case is a new shape, i.e. a new WGSL pipeline (~0.3-1 s each on SwiftShader under load)
          { numRuns: 8 },
        );
      });
    }

    it('long rows (64 threads per row in the parallel variant; several row blocks) within the bound', async () => {
      for (const [format, k] of [
        ['f32', 2100],
        ['int8', 4500],
        ['int4', 8300],
      ] as const) {
        const c = { format, n: 5, k, t: 9, groupSize: 128, sym: false, perm: false, bias: true, regime: 'normal' as const, seed: 77 };
        const w = makeWeight(c);
        const x = inputOf(c);
        const bias = randoms(3, c.n, 3);
        rt.bindingCap = 2 * 4 * (format === 'f32' ? k : format === 'int8' ? Math.ceil(k / 4) : Math.ceil(k / 8)); // 2 rows per block: 3 blocks
        const h = uploadLinear(rt, w);
        rt.bindingCap = Infinity;
        expect(h.parts.length).toBe(3);
        const xt = rt.upload(x, 'x');
        const bt = rt.upload(bias, 'bias');
        const y = rt.tensor(c.t * c.n, 'y');
        recordLinear(rt, h, xt, c.t, y, bt);
        const got = await read(y);
        const W = dequantize(w);
        expectWithin(
          got,
          ref.linearRef(w, x, c.t, bias),
          (i) => {
            const tok = Math.floor(i / c.n);
            const n = i % c.n;
            let a = 0;
            for (let kk = 0; kk < k; kk++) a += Math.abs(W[n * k + kk] * x[tok * k + kk]);
            return sumTerms(k, c.t, serial) * U * a + 2 * U * Math.abs(bias[n]) + 2 * k * TINY;
          },
          `long ${format}`,
        );
        for (const tt of [xt, bt, y]) rt.free(tt);
      }
    });

    it('rmsNorm, layerNorm, siluGate, gelu, add, addVector, projectOut', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 5 }),
          fc.integer({ min: 1, max: 150 }),
          fc.constantFrom(1, 10, 100),
          fc.integer({ min: 1, max: 1e9 }),
          async (rows, d, sc, seed) => {
            const x = randoms(seed, rows * d, sc);
            const w = randoms(seed + 1, d, 2);
            const b = randoms(seed + 2, d, 1);
            const gu = randoms(seed + 3, rows * 2 * d, sc);
            const xt = rt.upload(x, 'x');
            const wt = rt.upload(w, 'w');
            const bt = rt.upload(b, 'b');
            const gut = rt.upload(gu, 'gu');
            const outs = Array.from({ length: 6 }, () => rt.tensor(rows * d, 'out'));
            ops.recordRmsNorm(rt, xt, wt, outs[0], rows, d, 1e-5);
            ops.recordRmsNorm(rt, xt, wt, outs[1], rows, d, 1e-6, true);
            ops.recordLayerNorm(rt, xt, wt, bt, outs[2], rows, d, 1e-5);
            ops.recordSiluGate(rt, gut, outs[3], rows, d);
            ops.recordGelu(rt, xt, outs[4], rows * d);
            ops.recordAdd(rt, xt, outs[4], outs[5], rows * d);
            const [rms, rms1, ln, sg, ge, ad] = await rt.read(outs.map((t) => ({ t })));
            const tree = (Math.ceil(d / 64) + 6) * U;
            // rmsNorm: Σx² relative error ≤ tree, sqrt/div/products ≤ 5u more; relative to |ref|.
            const rr = ref.rmsNormRef(x, w, rows, d, 1e-5);
            expectWithin(rms, rr, (i) => (tree + 6 * U) * Math.abs(rr[i]) + TINY, 'rmsNorm');
            const rr1 = ref.rmsNormRef(x, w, rows, d, 1e-6, true);
            expectWithin(rms1, rr1, (i) => (tree + 7 * U) * Math.abs(rr1[i]) + TINY, 'rmsNorm addOne');
            // layerNorm: mean and variance sums, then (x - mean) cancels: bound relative to |x|·|w|/σ + |b|.
            const rl = ref.layerNormRef(x, w, b, rows, d, 1e-5);
            expectWithin(
              ln,
              rl,
              (i) => {
                const r0 = Math.floor(i / d) * d;
                let m = 0;
                for (let c = 0; c < d; c++) m += x[r0 + c];
                m /= d;
                let v = 0;
                for (let c = 0; c < d; c++) v += (x[r0 + c] - m) ** 2;
                const inv = 1 / Math.sqrt(v / d + 1e-5);
                let ax = 0;
                for (let c = 0; c < d; c++) ax = Math.max(ax, Math.abs(x[r0 + c]));
                return (2 * tree + 8 * U) * (ax * inv * Math.abs(w[i % d])) * 4 + 2 * U * Math.abs(b[i % d]) + TINY;
              },
              'layerNorm',
            );
            const g = Float32Array.from({ length: rows * d }, (_, i) => gu[Math.floor(i / d) * 2 * d + (i % d)]);
            const u = Float32Array.from({ length: rows * d }, (_, i) => gu[Math.floor(i / d) * 2 * d + d + (i % d)]);
            const rs = ref.siluGateRef(g, u);
            expectWithin(
              sg,
              rs,
              (i) => (6 + 2 * (3 + 2 * Math.abs(g[i]))) * U * Math.abs(rs[i]) + Math.abs(g[i] * u[i]) * 2 ** -128 + TINY,
              'siluGate',
            );
            const rg = ref.geluRef(x);
            // tanh: WGSL inherits sinh/cosh accuracy; 2^-20·|x| absolute is far above f32 rounding, far below a wrong formula.
            expectWithin(ge, rg, (i) => 8 * U * Math.abs(x[i]) + 2 ** -20 * Math.abs(x[i]) + TINY, 'gelu');
            expect(ad).toEqual(ref.addRef(x, ge));
            // interventions, in place, against analysis' definitions (f64 dot, f32 update)
            const dir = randoms(seed + 9, d, 1);
            let nn = 0;
            for (const v of dir) nn += v * v;
            nn = Math.sqrt(nn) + 1e-8;
            const unit = Float32Array.from(dir, (v) => v / nn);
            const ut = rt.upload(unit, 'dir');
            const po = rt.upload(x, 'x2');
            ops.recordProjectOut(rt, po, ut, rows, d);
            const av = rt.upload(x, 'x3');
            ops.recordAddVector(rt, av, wt, 0.75, rows, d);
            const [pog, avg] = await rt.read([{ t: po }, { t: av }]);
            const poRef = new Float32Array(rows * d);
            const poBound = new Float64Array(rows * d);
            for (let r = 0; r < rows; r++) {
              let dot = 0;
              let ad2 = 0;
              for (let c = 0; c < d; c++) {
                dot += x[r * d + c] * unit[c];
                ad2 += Math.abs(x[r * d + c] * unit[c]);
              }
              for (let c = 0; c < d; c++) {
                poRef[r * d + c] = x[r * d + c] - dot * unit[c];
                poBound[r * d + c] = (tree + 4 * U) * ad2 * Math.abs(unit[c]) + 2 * U * Math.abs(x[r * d + c]) + TINY;
              }
            }
            expectWithin(pog, poRef, (i) => poBound[i], 'projectOut');
            const avRef = Float32Array.from(x, (v, i) => v + 0.75 * w[i % d]);
            expectWithin(avg, avRef, (i) => 2 * U * (Math.abs(x[i]) + Math.abs(0.75 * w[i % d])) + TINY, 'addVector');
            for (const t of [xt, wt, bt, gut, ut, po, av, ...outs]) rt.free(t);
          },
        ),
        { numRuns: 10 },
      );
    });

    it('embedding, gatherRows and rope', async () => {
      const V = 37;
      const d = 12;
      const table = randoms(3, V * d, 1e3);
      rt.bindingCap = 10 * d * 4; // 4 row blocks of at most 10 rows
      const tab = ops.uploadTable(rt, table, d, 'table');
      rt.bindingCap = Infinity;
      expect(tab.parts.length).toBe(4);
      const ids = Int32Array.from([5, 0, 36, 5, 17]);
      const idt = rt.upload(Uint32Array.from(ids), 'ids');
      const y = rt.tensor(ids.length * d, 'y');
      ops.recordEmbedding(rt, tab, idt, ids.length, y);
      const idx = rt.upload(Uint32Array.from([4, 0]), 'idx');
      const g = rt.tensor(2 * d + 3, 'g');
      ops.recordGatherRows(rt, y, idx, 2, d, g, 3);
      const heads = 3;
      const hd = 8;
      const width = 2 + heads * hd + 5;
      const rows = 4;
      const x = randoms(9, rows * width, 2);
      const pos = Int32Array.from([0, 3, 1000, 77777]);
      const inv = Float32Array.from({ length: hd / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / hd));
      const xt = rt.upload(x, 'x');
      const cs = rt.upload(ops.ropeTables(pos, inv), 'cs');
      ops.recordRope(rt, xt, cs, rows, heads, hd, width, 2);
      const [ye, ge, xr] = await rt.read([{ t: y }, { t: g }, { t: xt }]);
      expect(ye).toEqual(ref.embeddingRef(table, ids, d));
      expect(Array.from(ge.subarray(3))).toEqual([...ye.subarray(4 * d, 5 * d), ...ye.subarray(0, d)]);
      const heads3 = new Float32Array(rows * heads * hd);
      for (let r = 0; r < rows; r++) heads3.set(x.subarray(r * width + 2, r * width + 2 + heads * hd), r * heads * hd);
      const rr = ref.ropeRef(heads3, pos, rows, heads, hd, inv);
      const got = new Float32Array(rows * heads * hd);
      for (let r = 0; r < rows; r++) got.set(xr.subarray(r * width + 2, r * width + 2 + heads * hd), r * heads * hd);
      // cos/sin come from the same JS Math as the reference: two products and one add, ≤ 3u·(|a| + |b|).
      expectWithin(got, rr, (i) => 3 * U * 4 + TINY, 'rope');
      for (let r = 0; r < rows; r++) {
        expect(Array.from(xr.subarray(r * width, r * width + 2))).toEqual(Array.from(x.subarray(r * width, r * width + 2)));
        expect(Array.from(xr.subarray(r * width + 2 + heads * hd, (r + 1) * width))).toEqual(
          Array.from(x.subarray(r * width + 2 + heads * hd, (r + 1) * width)),
        );
      }
    });

    it('attention over the resident cache (GQA, causal, left padding, fully masked rows) and its pattern', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 1, max: 5 }),
          fc.integer({ min: 0, max: 70 }),
          fc.constantFrom([2, 1], [4, 2], [3, 3]),
          fc.constantFrom(4, 8, 70),
          fc.integer({ min: 1, max: 1e9 }),
          async (batch, t, past, [nH, nKv], hd, seed) => {
            const cap = past + t + 2;
            const s = past + t;
            const kvw = nKv * hd;
            const width = nH * hd + 2 * kvw;
            const kc0 = randoms(seed, batch * cap * kvw, 1);
            const vc0 = randoms(seed + 1, batch * cap * kvw, 1);
            const qkv = randoms(seed + 2, batch * t * width, 1);
            const mask = new Uint32Array(batch * cap);
            for (let b = 0; b < batch; b++) {
              const pad = (seed + b * 7) % (s + 1); // row b: `pad` padded slots (all of them possible)
              for (let j = pad; j < s; j++) mask[b * cap + j] = 1;
            }
            const kc = rt.upload(kc0, 'kc');
            const vc = rt.upload(vc0, 'vc');
            const qt = rt.upload(qkv, 'qkv');
            const mt = rt.upload(mask, 'mask');
            const pat = rt.tensor(batch * nH * t * s, 'pattern');
            const z = rt.tensor(batch * t * nH * hd, 'z');
            const kv = { batch, cap, nKvHeads: nKv, headDim: hd };
            ops.recordKvWrite(rt, qt, kc, vc, kv, t, past, width, nH * hd, nH * hd + kvw);
            ops.recordAttention(rt, { qkv: qt, width, kc, vc, mask: mt, kv, nHeads: nH, t, s, scale: 1 / Math.sqrt(hd), pattern: pat, z });
            const [zg, pg] = await rt.read([{ t: z }, { t: pat }]);
            for (let b = 0; b < batch; b++) {
              const k = kc0.slice(b * cap * kvw, (b * cap + s) * kvw);
              const v = vc0.slice(b * cap * kvw, (b * cap + s) * kvw);
              for (let i = 0; i < t; i++) {
                k.set(qkv.subarray((b * t + i) * width + nH * hd, (b * t + i) * width + nH * hd + kvw), (past + i) * kvw);
                v.set(qkv.subarray((b * t + i) * width + nH * hd + kvw, (b * t + i + 1) * width), (past + i) * kvw);
              }
              const q = new Float32Array(t * nH * hd);
              for (let i = 0; i < t; i++) q.set(qkv.subarray((b * t + i) * width, (b * t + i) * width + nH * hd), i * nH * hd);
              const patternOut = new Float32Array(nH * t * s);
              const a: AttentionArgs = {
                q,
                k,
                v,
                t,
                s,
                nHeads: nH,
                nKvHeads: nKv,
                headDim: hd,
                keyValid: Uint8Array.from(mask.subarray(b * cap, b * cap + s)),
                scale: 1 / Math.sqrt(hd),
                patternOut,
              };
              const rz = ref.attentionRef(a);
              // probabilities: scores carry (hd + 2)u·Σ|qk|·scale ≤ (hd+2)u·hd·scale (|q|,|k| ≤ 1), exp 3 + 2|x| ULP,
              // normalization sum (S/64 + 6)u: an absolute 1e-5 covers all of them for these sizes (S ≤ 77, hd ≤ 70).
              expectWithin(pg.subarray(b * nH * t * s, (b + 1) * nH * t * s), patternOut, () => 1e-5, `pattern b=${b}`);
              // z = Σ p·v with |v| ≤ 1: the probability error summed over S keys plus the sum's own rounding.
              expectWithin(zg.subarray(b * t * nH * hd, (b + 1) * t * nH * hd), rz, () => s * 1e-5 + (s + 2) * U, `z b=${b}`);
            }
            for (const x of [kc, vc, qt, mt, pat, z]) rt.free(x);
          },
        ),
        { numRuns: 12 },
      );
    });

    it('rejects shapes that do not fit, naming the op', () => {
      const a = rt.tensor(4, 'a');
      expect(() => ops.recordAdd(rt, a, a, a, 5)).toThrow(/add a/);
      expect(() => ops.recordKvWrite(rt, a, a, a, { batch: 1, cap: 2, nKvHeads: 1, headDim: 1 }, 2, 1, 3, 0, 1)).toThrow(ShapeError);
      const h = uploadLinear(rt, { format: 'f32', n: 2, k: 3, w: new Float32Array(6) });
      expect(() => recordLinear(rt, h, a, 2, a, null)).toThrow(/x holds 4 values/);
      rt.free(a);
    });
  });
