/**
 * LLM.int8() W8A8: the JS int8 × int8 kernel against the plain-TS reference (fast-check), against the dense float
 * product within the quantization bound, and the llm-int8 method end to end on tiny-chat (int8 weights only, runs,
 * saves and reloads bit for bit, readLinear refuses the module).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { w8a8Linear, checkW8A8 } from '../kernels/w8a8/matmul.ts';
import { w8a8LinearRef } from '../kernels/reference/w8a8.ts';
import type { W8A8Weight } from '../kernels/w8a8/types.ts';
import { quantizeInt8 } from '../kernels/quantize.ts';
import { dequantize } from '../kernels/formats.ts';
import { GlassboxError, ModelFolderError } from '../engine/errors.ts';
import { loadModel } from '../models/load.ts';
import { compressModel, linearRoles } from '../analysis/compress/apply.ts';
import { parseMethod } from '../analysis/compress/methods.ts';
import { saveCompressedModel } from '../analysis/study/save-model.ts';
import { openModelFolder } from '../engine/model-folder.ts';
import { readLinear } from '../engine/linear-reader.ts';
import { projectRoot } from './helpers/shared.ts';

const F32_EPS = 2 ** -23;

const case_ = fc.record({
  t: fc.integer({ min: 1, max: 4 }),
  n: fc.integer({ min: 1, max: 7 }),
  k: fc.integer({ min: 1, max: 40 }),
  seed: fc.integer({ min: 1, max: 1e6 }),
  threshold: fc.constantFrom(0.5, 2, 6),
  outlierP: fc.constantFrom(0, 0.05, 0.3),
});

function build({
  t,
  n,
  k,
  seed,
  threshold,
  outlierP,
}: {
  t: number;
  n: number;
  k: number;
  seed: number;
  threshold: number;
  outlierP: number;
}) {
  let s = seed >>> 0;
  const rand = () => (s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0) / 2 ** 32;
  const dense = Float32Array.from({ length: n * k }, () => rand() * 2 - 1);
  const x = Float32Array.from({ length: t * k }, () => (rand() < outlierP ? (rand() * 2 - 1) * 20 : (rand() * 2 - 1) * 1.5));
  // Exact ties (x / s = m + 0.5) exercise the half-to-even rounding.
  if (t * k > 2) x[1] = x[0] / 2;
  const bias = rand() < 0.5 ? Float32Array.from({ length: n }, () => rand() - 0.5) : null;
  const w: W8A8Weight = { format: 'w8a8', n, k, weight: quantizeInt8(dense, n, k, k), threshold };
  return { w, x, bias };
}

describe('W8A8 kernel (LLM.int8)', () => {
  it('equals the plain-TS reference up to f32 rounding of the output (fast-check)', () => {
    fc.assert(
      fc.property(case_, (c) => {
        const { w, x, bias } = build(c);
        const got = w8a8Linear(w, x, c.t, bias);
        const ref = w8a8LinearRef(w, x, c.t, bias);
        expect(got.outlierCols).toBe(ref.outlierCols.length);
        const W = dequantize(w.weight);
        for (let i = 0; i < c.t; i++)
          for (let r = 0; r < c.n; r++) {
            // Bound: a few f32 roundings of the largest partial sum's magnitude.
            let mag = Math.abs(bias?.[r] ?? 0);
            for (let j = 0; j < c.k; j++) mag += Math.abs(x[i * c.k + j] * W[r * c.k + j]);
            expect(Math.abs(got.y[i * c.n + r] - ref.y[i * c.n + r])).toBeLessThanOrEqual(4 * F32_EPS * mag + 1e-30);
          }
      }),
      { numRuns: 300 },
    );
  });

  it('is within the activation-quantization bound of the dense product, exact on outlier columns', () => {
    fc.assert(
      fc.property(case_, (c) => {
        const { w, x, bias } = build(c);
        const { y } = w8a8Linear(w, x, c.t, bias);
        const { outlierCols } = w8a8LinearRef(w, x, c.t, bias);
        const out = new Set(outlierCols);
        const W = dequantize(w.weight);
        for (let i = 0; i < c.t; i++) {
          let amax = 0;
          for (let j = 0; j < c.k; j++) if (!out.has(j)) amax = Math.max(amax, Math.abs(x[i * c.k + j]));
          const half = amax / 127 / 2; // |x − x̂| ≤ s_x / 2 on every non-outlier column
          for (let r = 0; r < c.n; r++) {
            let exact = bias?.[r] ?? 0;
            let bound = 0;
            let mag = Math.abs(exact);
            for (let j = 0; j < c.k; j++) {
              exact += x[i * c.k + j] * W[r * c.k + j];
              mag += Math.abs(x[i * c.k + j] * W[r * c.k + j]);
              if (!out.has(j)) bound += half * Math.abs(W[r * c.k + j]);
            }
            expect(Math.abs(y[i * c.n + r] - exact)).toBeLessThanOrEqual(bound * (1 + 1e-6) + 8 * F32_EPS * mag + 1e-30);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('an all-outlier input runs entirely in f32; a zero row gives the bias', () => {
    const w: W8A8Weight = {
      format: 'w8a8',
      n: 2,
      k: 3,
      weight: quantizeInt8(Float32Array.of(1, 2, 3, -1, 0.5, 0.25), 2, 3, 3),
      threshold: 1,
    };
    const x = Float32Array.of(10, -20, 30, 0, 0, 0);
    const { y, outlierCols } = w8a8Linear(w, x, 2, Float32Array.of(0.5, -0.5));
    expect(outlierCols).toBe(3);
    const W = dequantize(w.weight);
    expect(y[0]).toBeCloseTo(10 * W[0] - 20 * W[1] + 30 * W[2] + 0.5, 4);
    expect([y[2], y[3]]).toEqual([0.5, -0.5]);
  });

  it('rejects weights it cannot run, naming the problem', () => {
    const ok: W8A8Weight = { format: 'w8a8', n: 2, k: 4, weight: quantizeInt8(new Float32Array(8).fill(1), 2, 4, 4), threshold: 6 };
    expect(() => checkW8A8(ok)).not.toThrow();
    expect(() => checkW8A8({ ...ok, weight: quantizeInt8(new Float32Array(8).fill(1), 2, 4, 2) }, 'blocks.0.q')).toThrow(
      /blocks\.0\.q: expected an int8 \[2, 4\] weight with one scale per output row/,
    );
    expect(() => checkW8A8({ ...ok, threshold: 0 })).toThrow(GlassboxError);
    expect(() => w8a8Linear(ok, new Float32Array(3), 1)).toThrow(/input has 3 values, want 1x4/);
  });
});

describe('llm-int8 on tiny-chat', () => {
  const TINY = path.join(projectRoot, 'models/tiny-chat');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-w8a8-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('holds only int8 weights, runs close to int8, saves and reloads to the same logits; readLinear refuses', async () => {
    const original = await loadModel(TINY);
    const prompts = ['Tell me a story about a dragon', 'How do I bake bread?'].map((s) => original.tokenizer!.encodeChat(s));
    const c = await compressModel(original, parseMethod('llm-int8'), { calibration: [] });
    const i8 = await compressModel(original, parseMethod('int8'), { calibration: [] });
    for (let l = 0; l < original.config.nLayers; l++)
      for (const r of linearRoles(original)) {
        const w = c.model.getLinear(l, r).weight;
        expect(w.format).toBe('w8a8');
        if (w.format !== 'w8a8') continue;
        // The same vector-wise int8 weight as the int8 method: no f32 copy is kept.
        expect(w.weight.q).toEqual((i8.model.getLinear(l, r).weight as { q: Int8Array }).q);
        expect(Object.values(w).some((v) => v instanceof Float32Array && v.length === w.n * w.k)).toBe(false);
      }
    expect(c.bitsPerWeight).toBeCloseTo(i8.bitsPerWeight, 10);
    const a = (await c.model.forward(prompts, { logits: 'last' })).logits;
    const b = (await i8.model.forward(prompts, { logits: 'last' })).logits;
    const o = (await original.forward(prompts, { logits: 'last' })).logits;
    let dAB = 0;
    let dBO = 0;
    for (let i = 0; i < a.length; i++) {
      dAB = Math.max(dAB, Math.abs(a[i] - b[i]));
      dBO = Math.max(dBO, Math.abs(b[i] - o[i]));
    }
    // Activation rounding adds an error of the same order as the weight rounding, not more than a few times it.
    expect(dAB).toBeGreaterThan(0);
    expect(dAB).toBeLessThan(10 * dBO + 0.05);
    const out = path.join(dir, 'llm-int8');
    saveCompressedModel(TINY, c.model, out);
    const re = await loadModel(out);
    const y = (await re.forward(prompts, { logits: 'last' })).logits;
    let dRe = 0;
    for (let i = 0; i < a.length; i++) dRe = Math.max(dRe, Math.abs(a[i] - y[i]));
    expect(dRe).toBe(0);
    expect(re.getLinear(0, 'q').weight.format).toBe('w8a8');
    const folder = openModelFolder(out);
    try {
      expect(() => readLinear(folder, folder.names.layers[0].down!)).toThrow(ModelFolderError);
      expect(() => readLinear(folder, folder.names.layers[0].down!)).toThrow(/LLM\.int8\(\) W8A8 module/);
    } finally {
      folder.close();
    }
    for (const m of [re, c.model, i8.model, original]) m.dispose();
  }, 120_000);
});
