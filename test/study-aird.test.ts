import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { airdDirectionSwap, airdProjectionRestore } from '../analysis/study/aird-math.ts';
import { unit } from '../analysis/vector-math.ts';
import { applyAird } from '../analysis/study/aird.ts';
import { perLayerCosine, lowestCosineLayer } from '../analysis/study/compare.ts';
import { compressModel, linearRoles } from '../analysis/compress/apply.ts';
import { parseMethod } from '../analysis/compress/methods.ts';
import { denseOf } from '../analysis/compress/dense.ts';
import { Candidates } from '../analysis/direction/diff-means.ts';
import { DecoderModel } from '../models/decoder-model.ts';
import { syntheticConfig, syntheticProvider } from '../models/synthetic.ts';
import { createReferenceBackend } from '../kernels/reference/backend.ts';

const mat = (d: number, dIn: number) =>
  fc.float32Array({ minLength: d * dIn, maxLength: d * dIn, min: -4, max: 4, noNaN: true, noDefaultInfinity: true });
const vec = (d: number) =>
  fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: d, maxLength: d }).filter((v) => v.some((x) => Math.abs(x) > 0.1));

/** r̂ᵀ W as float64 [dIn]. */
function proj(w: Float32Array, r: ArrayLike<number>, d: number): number[] {
  const dIn = w.length / d;
  return Array.from({ length: dIn }, (_, j) => {
    let s = 0;
    for (let i = 0; i < d; i++) s += r[i] * w[i * dIn + j];
    return s;
  });
}

describe('AIRD math', () => {
  const d = 6,
    dIn = 5;
  it('variant A writes the original component along r̂ and keeps everything orthogonal to it', () => {
    fc.assert(
      fc.property(mat(d, dIn), mat(d, dIn), vec(d), vec(d), (wc, wo, r, u) => {
        const rh = unit(r);
        const out = airdProjectionRestore(wc, wo, rh);
        // Along r̂: exactly the original's projection (f32 storage: 1e-4 on values up to ~4·sqrt(6)).
        proj(out, rh, d).forEach((v, j) => expect(v).toBeCloseTo(proj(wo, rh, d)[j], 4));
        // Along any direction orthogonal to r̂: unchanged from the compressed weights.
        const dot = u.reduce((s, x, i) => s + x * rh[i], 0);
        const v = u.map((x, i) => x - dot * rh[i]);
        proj(out, v, d).forEach((x, j) => expect(x).toBeCloseTo(proj(wc, v, d)[j], 4));
      }),
      { numRuns: 60 },
    );
  });
  it('variant B equals A when the compressed direction is the original one', () => {
    fc.assert(
      fc.property(mat(d, dIn), mat(d, dIn), vec(d), (wc, wo, r) => {
        const rh = unit(r);
        const a = airdProjectionRestore(wc, wo, rh);
        const b = airdDirectionSwap(wc, wo, rh, rh);
        a.forEach((x, i) => expect(b[i]).toBeCloseTo(x, 4));
      }),
      { numRuns: 40 },
    );
  });
});

describe('per-layer cosine', () => {
  it('is null where a candidate is ~0 and the cosine elsewhere', () => {
    const nPos = 1,
      L = 3,
      dm = 2;
    const o = new Candidates(Float64Array.from([0, 0, 1, 0, 1, 1]), nPos, L, dm);
    const c = new Candidates(Float64Array.from([1e-12, 0, 0, 1, 2, 2]), nPos, L, dm);
    const cos = perLayerCosine(o, c, 0);
    expect(cos[0]).toBeNull();
    expect(cos[1]).toBeCloseTo(0, 12);
    expect(cos[2]).toBeCloseTo(1, 12);
    expect(lowestCosineLayer(cos)).toBe(1);
  });
});

describe('applyAird on a model', () => {
  const cfg = syntheticConfig({ nLayers: 3, dModel: 16, nHeads: 2, nKvHeads: 2, dMlp: 24, vocabSize: 40 });
  const original = new DecoderModel(syntheticProvider(cfg, 5), { backend: createReferenceBackend() });
  const r = Float64Array.from({ length: 16 }, (_, i) => Math.sin(i + 1));
  const rh = unit(r);

  it('variant A on a pruned model: edited block matches the original along r̂, other blocks untouched, sparsity drops in that block only', async () => {
    const c = await compressModel(original, parseMethod('magnitude-50'), { calibration: [] });
    const a = applyAird(original, c.model, { variant: 'A', editLayer: 1, direction: r });
    for (const role of ['o', 'down'] as const) {
      const got = denseOf(a.model.getLinear(1, role).weight);
      proj(got, rh, 16).forEach((v, j) => expect(v).toBeCloseTo(proj(denseOf(original.getLinear(1, role).weight), rh, 16)[j], 4));
      expect(a.survival[role]).toBeCloseTo(1, 6);
    }
    for (const l of [0, 2])
      for (const role of linearRoles(original))
        expect(denseOf(a.model.getLinear(l, role).weight)).toEqual(denseOf(c.model.getLinear(l, role).weight));
    expect(denseOf(c.model.getLinear(1, 'o').weight).filter((x) => x === 0).length).toBeGreaterThan(0);
  });

  it('quantized models are re-quantized into their format (survival reported) or kept in f32 on request', async () => {
    const c = await compressModel(original, parseMethod('int4-g128'), { calibration: [] });
    const q = applyAird(original, c.model, { variant: 'A', editLayer: 2, direction: r });
    expect(q.model.getLinear(2, 'down').weight.format).toBe('int4');
    expect(q.survival.down).not.toBeNull();
    expect(q.survival.down!).toBeLessThanOrEqual(1 + 1e-9);
    const f = applyAird(original, c.model, { variant: 'A', editLayer: 2, direction: r, keepF32: true });
    expect(f.model.getLinear(2, 'down').weight.format).toBe('f32');
    expect(f.survival.down).toBeCloseTo(1, 6);
    expect(f.keptF32).toBe(true);
  });

  it('AWQ: the original is compared in the scaled input coordinates, so the effective weight gets the original component', async () => {
    const c = await compressModel(original, parseMethod('awq4'), {
      calibration: [
        [3, 4, 5, 6, 7],
        [8, 9, 10, 11],
        [12, 13, 14],
      ],
      awqSampleRows: 16,
    });
    const sc = c.inputScales.get('1.down')!;
    expect(sc).toBeDefined();
    const a = applyAird(original, c.model, { variant: 'A', editLayer: 1, direction: r, keepF32: true, inputScales: c.inputScales });
    // The stored down acts on x/s: its effective weight in the original coordinates is W'·diag(1/s).
    const eff = denseOf(a.model.getLinear(1, 'down').weight).map((x, i) => x / sc[i % sc.length]);
    proj(eff, rh, 16).forEach((v, j) => expect(v).toBeCloseTo(proj(denseOf(original.getLinear(1, 'down').weight), rh, 16)[j], 3));
  });

  it("variant C restores the block; variant D adds alpha·r to down_proj's bias", async () => {
    const c = await compressModel(original, parseMethod('wanda-50'), {
      calibration: [
        [3, 4, 5, 6],
        [7, 8, 9],
      ],
    });
    const rc = applyAird(original, c.model, { variant: 'C', editLayer: 0, direction: r });
    for (const role of linearRoles(original))
      expect(denseOf(rc.model.getLinear(0, role).weight)).toEqual(denseOf(original.getLinear(0, role).weight));
    const rd = applyAird(original, c.model, { variant: 'D', editLayer: 1, direction: r, alpha: 2 });
    expect(Array.from(rd.model.getLinear(1, 'down').bias!)).toEqual(Array.from(r, (x) => Math.fround(2 * x)));
    expect(() => applyAird(original, c.model, { variant: 'A', editLayer: 3, direction: r })).toThrow(/edit layer 3/);
  });
});
