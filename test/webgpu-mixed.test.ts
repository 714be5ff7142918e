/**
 * LLM.int8()-style mixed weights (int8-outlier-cols: int8 main + f32 outlier columns) resident on webgpu: the
 * kernel (kernels/webgpu/linear.ts recordMixed) against the plain-TS reference (int8 result with its bias, plus the
 * outlier product on the gathered columns, as models/runtime-linear.ts computes it), and tiny-chat with every block
 * Linear mixed: resident (one submit per forward), logits within 1e-3 of wasm-simd's and the same greedy tokens.
 * SwiftShader in CI; GLASSBOX_REQUIRE_WEBGPU=1 turns a missing adapter into a failure.
 */
import fc from 'fast-check';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressModel } from '../analysis/compress/apply.ts';
import { denseOf } from '../analysis/compress/dense.ts';
import { parseMethod } from '../analysis/compress/methods.ts';
import { quantizeLlmInt8 } from '../analysis/compress/llm-int8.ts';
import { webgpuAvailable } from '../kernels/gpujs/webgpu.ts';
import * as ref from '../kernels/reference/ops.ts';
import { createBackend } from '../kernels/select.ts';
import type { Backend } from '../kernels/types.ts';
import { GEMM_BK, recordMixed, TT, uploadMixed } from '../kernels/webgpu/linear.ts';
import { WgpuRuntime } from '../kernels/webgpu/runtime.ts';
import { loadModel } from '../models/load.ts';
import type { LinearRole, Model } from '../models/types.ts';
import { expectWithin, randoms, U } from './helpers/gpujs.ts';
import { projectRoot } from './helpers/shared.ts';

const available = await webgpuAvailable();
const required = process.env.GLASSBOX_REQUIRE_WEBGPU === '1';
const TINY = 2 ** -126;

describe.skipIf(available || !required)('webgpu mixed weights without an adapter', () => {
  it('GLASSBOX_REQUIRE_WEBGPU=1: an adapter must exist', () => expect.fail('no WebGPU adapter'));
});

/** Every `every`-th input column (from `first`) marked as an outlier. */
const colMax = (k: number, every: number, first: number) =>
  Float32Array.from({ length: k }, (_, j) => (j % every === first % every ? 10 : 1));

describe.skipIf(!available)('mixed kernel vs the reference', () => {
  let rt: WgpuRuntime;
  beforeAll(async () => {
    rt = await WgpuRuntime.create();
  });
  afterAll(() => rt?.dispose());

  it('recordMixed = int8 main (+ bias) + f32 outliers on the gathered columns, within the summation bound', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 2, max: 70 }),
        fc.constantFrom(1, 3, 12),
        fc.integer({ min: 2, max: 9 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.boolean(),
        async (n, k, t, every, seed, serial) => {
          rt.serial = serial;
          const w = quantizeLlmInt8(randoms(seed, n * k), n, k, colMax(k, every, seed));
          const x = randoms(seed + 1, t * k, 8);
          const bias = randoms(seed + 2, n, 2);
          const h = uploadMixed(rt, w);
          const xt = rt.upload(x, 'x');
          const bt = rt.upload(bias, 'bias');
          // columns [1, 1 + n) of a wider y, as a fused group member writes
          const y = rt.tensor(t * (n + 2), 'y');
          const xo = rt.tensor(t * k, 'xo');
          const yo = rt.tensor(t * n, 'yo');
          recordMixed(rt, h, xt, t, y, bt, { width: n + 2, col: 1, xo, yo });
          const got = await rt.read([{ t: y }]);
          const nOut = w.outlierCols.length;
          const xg = Float32Array.from({ length: t * nOut }, (_, i) => x[Math.floor(i / nOut) * k + w.outlierCols[i % nOut]]);
          const main = ref.linearRef(w.main, x, t, bias);
          const extra = ref.linearRef(w.outlier, xg, t, null);
          const want = Float32Array.from(main, (v, i) => v + extra[i]);
          const sub = Float32Array.from({ length: t * n }, (_, i) => got[0][Math.floor(i / n) * (n + 2) + 1 + (i % n)]);
          const W = denseOf(w);
          const terms = t > TT ? GEMM_BK + Math.ceil(k / GEMM_BK) + 2 : serial ? k + 1 : Math.ceil(k / 64) + 8;
          expectWithin(
            sub,
            want,
            (i) => {
              const tok = Math.floor(i / n);
              let a = 0;
              for (let j = 0; j < k; j++) a += Math.abs(W[(i % n) * k + j] * x[tok * k + j]);
              // two sums (main, outliers) of at most `terms` roundings each, the bias and the final add
              return (2 * terms + 2) * U * (a + Math.abs(bias[i % n])) + 4 * k * TINY;
            },
            `mixed n=${n} k=${k} t=${t} every=${every}`,
          );
          for (let r = 0; r < t; r++) expect([got[0][r * (n + 2)], got[0][r * (n + 2) + n + 1]]).toEqual([0, 0]);
          for (const tt of [xt, bt, y, xo, yo]) rt.free(tt);
        },
      ),
      { numRuns: 6 },
    );
  });
});

describe.skipIf(!available)('tiny-chat with mixed (int8-outlier-cols) block weights: resident webgpu vs wasm-simd', () => {
  let gpuBe: Backend;
  let cpuBe: Backend;
  let gpu: Model;
  let cpu: Model;
  const dir = path.join(projectRoot, 'models/tiny-chat');
  const prompts = [
    [1, 3, 15, 440, 266, 1885, 336, 266, 278, 540, 51, 2, 15, 4, 15],
    [1, 3, 15, 440, 266, 278, 540, 51, 2, 15, 4, 15],
  ];
  const mix = (m: Model) => {
    const roles: LinearRole[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];
    for (let l = 0; l < m.config.nLayers; l++)
      for (const [i, role] of roles.entries()) {
        const lin = m.getLinear(l, role);
        const w = lin.weight;
        const dense = denseOf(w);
        m.setLinear(l, role, { weight: quantizeLlmInt8(dense, w.n, w.k, colMax(w.k, 5 + i, l)), bias: lin.bias });
      }
  };
  beforeAll(async () => {
    gpuBe = await createBackend('webgpu');
    cpuBe = await createBackend('wasm-simd');
    gpu = await loadModel(dir, { backend: gpuBe });
    cpu = await loadModel(dir, { backend: cpuBe });
    mix(gpu);
    mix(cpu);
  });
  afterAll(() => {
    gpuBe?.dispose();
    cpuBe?.dispose();
  });

  it('runs resident in one submit, logits within 1e-3 of wasm-simd, same greedy tokens', async () => {
    expect(gpu.getLinear(2, 'up').weight.format).toBe('mixed');
    const before = gpuBe.resident!.submits;
    const g = await gpu.forward(prompts, { logits: 'last' });
    expect(gpuBe.resident!.submits - before).toBe(1);
    expect((gpu as unknown as { residentActive: boolean }).residentActive).toBe(true);
    const c = await cpu.forward(prompts, { logits: 'last' });
    let worst = 0;
    for (let i = 0; i < g.logits.length; i++) worst = Math.max(worst, Math.abs(g.logits[i] - c.logits[i]));
    expect(worst).toBeLessThan(1e-3);
    const gg = await gpu.generate(prompts, { maxNewTokens: 8 });
    const cg = await cpu.generate(prompts, { maxNewTokens: 8 });
    expect(gg.tokens).toEqual(cg.tokens);
  });

  it('W8A8 llm-int8 weights (no resident kernel) fall back to the per-op path and match wasm-simd', async () => {
    // regression: residentSupports let them through and the resident upload failed with a TypeError
    const run = async (be: Backend) => {
      const m = await loadModel(dir, { backend: be });
      const c = await compressModel(m, parseMethod('llm-int8'), { calibration: [] });
      try {
        expect(c.model.getLinear(0, 'q').weight.format).toBe('w8a8');
        const r = await c.model.forward([prompts[1].slice(0, 6)], { logits: 'last' });
        return { logits: r.logits, resident: (c.model as unknown as { residentActive: boolean }).residentActive };
      } finally {
        c.model.dispose();
        m.dispose();
      }
    };
    const g = await run(gpuBe);
    const c = await run(cpuBe);
    expect(g.resident).toBe(false);
    let worst = 0;
    for (let i = 0; i < g.logits.length; i++) worst = Math.max(worst, Math.abs(g.logits[i] - c.logits[i]));
    expect(worst).toBeLessThan(1e-3);
  });
});
