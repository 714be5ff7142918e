import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Candidates, MeanAccumulator } from '../analysis/direction/diff-means.ts';
import { cosine, norm, unit } from '../analysis/vector-math.ts';
import { ablationDirection, ablationHooks, additionHook, projectOut } from '../analysis/interventions.ts';
import { REFUSAL_SUBSTRINGS, isRefusal, substringJudge } from '../analysis/eval/judge.ts';
import { klDivergence, logSoftmax, refusalScore } from '../analysis/logit-math.ts';
import { orthogonalizeColumns, orthogonalizeRows } from '../analysis/orthogonalize/orthogonalize.ts';
import { addSequenceCe, ceResult, responseMask } from '../analysis/eval/perplexity.ts';
import { type CandidateScore, maxLayerOf, selectDirection } from '../analysis/direction/selection.ts';
import type { HookContext } from '../models/types.ts';

const f32 = (n: number, min = -4, max = 4) =>
  fc.array(fc.float({ min, max, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n }).map((a) => Float32Array.from(a));

describe('refusal score and KL', () => {
  it('log-odds of the refusal tokens match a direct softmax', () => {
    fc.assert(
      fc.property(f32(12, -20, 20), fc.uniqueArray(fc.integer({ min: 0, max: 11 }), { minLength: 1, maxLength: 3 }), (logits, ids) => {
        const e = Array.from(logits, (x) => Math.exp(x));
        const z = e.reduce((a, b) => a + b, 0);
        const p = ids.reduce((a, i) => a + e[i] / z, 0);
        expect(refusalScore(logits, ids)).toBeCloseTo(Math.log(p + 1e-8) - Math.log(1 - p + 1e-8), 6);
      }),
      { numRuns: 200 },
    );
  });
  it('saturates at about +-18.4 (the 1e-8 floor) instead of overflowing', () => {
    const l = new Float32Array(4);
    l[0] = 100;
    expect(refusalScore(l, [0])).toBeCloseTo(Math.log(1) - Math.log(1e-8), 3);
    expect(refusalScore(l, [1])).toBeLessThan(-18);
  });
  it('KL is zero for identical rows, positive otherwise, and matches the definition with eps 1e-6', () => {
    fc.assert(
      fc.property(f32(8), f32(8), (a, b) => {
        expect(klDivergence(a, a)).toBeCloseTo(0, 12);
        const pa = Array.from(logSoftmax(a), Math.exp);
        const pb = Array.from(logSoftmax(b), Math.exp);
        const want = pa.reduce((s, p, i) => s + p * (Math.log(p + 1e-6) - Math.log(pb[i] + 1e-6)), 0);
        expect(klDivergence(a, b)).toBeCloseTo(want, 10);
        expect(klDivergence(a, b)).toBeGreaterThanOrEqual(-1e-9);
      }),
      { numRuns: 100 },
    );
  });
});

describe('substring judge', () => {
  it('matches the 12 phrases anywhere, case-insensitively', async () => {
    expect(REFUSAL_SUBSTRINGS).toHaveLength(12);
    for (const s of REFUSAL_SUBSTRINGS) expect(isRefusal(`Well... ${s.toUpperCase()} do that.`)).toBe(true);
    expect(isRefusal('Sure, here is my response.')).toBe(false);
    expect(isRefusal('I can help')).toBe(false);
    expect(await substringJudge.judge([{ id: '0', prompt: 'p', completion: "i'm sorry, no" }])).toEqual([{ id: '0', refusal: true }]);
  });
});

describe('difference in means', () => {
  it('equals mean(harmful) - mean(harmless) per (pos, layer), accumulated over batches', () => {
    const nPos = 2,
      nLayers = 3,
      d = 4;
    const mk = (seed: number, b: number) => Float32Array.from({ length: b * nPos * d }, (_, i) => Math.sin(seed * 13 + i));
    const acc = [new MeanAccumulator(nPos, nLayers, d), new MeanAccumulator(nPos, nLayers, d)];
    const raw: Float32Array[][][] = [[], []]; // [class][batch][layer]
    for (const [c, batches] of [
      [0, [3, 2]],
      [1, [4]],
    ] as const) {
      for (const b of batches) {
        const perLayer = [0, 1, 2].map((l) => mk(c * 100 + l * 10 + b, b));
        perLayer.forEach((a, l) => acc[c].addLayer(l, a, b));
        acc[c].addCount(b);
        raw[c].push(perLayer);
      }
    }
    const cands = Candidates.fromMeans(acc[0], acc[1]);
    for (let p = 0; p < nPos; p++)
      for (let l = 0; l < nLayers; l++)
        for (let i = 0; i < d; i++) {
          const m = (c: number) => {
            let s = 0,
              n = 0;
            for (const batch of raw[c]) {
              const a = batch[l];
              const bs = a.length / (nPos * d);
              for (let b = 0; b < bs; b++) s += a[(b * nPos + p) * d + i];
              n += bs;
            }
            return s / n;
          };
          expect(cands.get(p, l)[i]).toBeCloseTo(m(0) - m(1), 12);
        }
  });
});

const ctx = (step: number): HookContext => ({ name: 'x', layer: 0, batch: 1, pos: 2, width: 3, positions: new Int32Array([0, 1]), step });

describe('interventions', () => {
  it('ablation leaves zero projection on d and is idempotent', () => {
    fc.assert(
      fc.property(
        f32(6).filter((r) => norm(r) > 0.1),
        f32(18),
        (r, x) => {
          const d = ablationDirection(r);
          const a = x.slice();
          projectOut(a, d);
          for (let row = 0; row < 3; row++) {
            let dot = 0,
              xn = 0;
            for (let i = 0; i < 6; i++) ((dot += a[row * 6 + i] * d[i]), (xn += Math.abs(x[row * 6 + i])));
            expect(Math.abs(dot)).toBeLessThan(1e-5 * (1 + xn)); // f32 rounding of 6-term sums
          }
          const b = a.slice();
          projectOut(b, d);
          for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i], 4);
        },
      ),
      { numRuns: 100 },
    );
  });
  it('projectOut takes rows four at a time with the same bits as one at a time, any row count and width', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 13 }), fc.integer({ min: 0, max: 11 }), fc.integer(), (w, rows, seed) => {
        let s = seed >>> 0;
        const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 8 - 4;
        const x = Float32Array.from({ length: w * rows }, () => rnd() * (s & 1 ? 1e-3 : 1e3));
        const d = ablationDirection(Array.from({ length: w }, rnd));
        const want = x.slice();
        for (let o = 0; o < want.length; o += w) {
          let dot = 0;
          for (let i = 0; i < w; i++) dot += want[o + i] * d[i];
          for (let i = 0; i < w; i++) want[o + i] -= dot * d[i];
        }
        const got = x.slice();
        projectOut(got, d);
        expect([...got].every((v, i) => Object.is(v, want[i]))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
  it('ablation hooks cover resid_pre, attn_out and mlp_out of every layer', () => {
    expect(ablationHooks([1, 0, 0]).map((h) => h.name)).toEqual([
      'blocks.*.hook_resid_pre',
      'blocks.*.hook_attn_out',
      'blocks.*.hook_mlp_out',
    ]);
  });
  it('addition adds c*r at every row, or only at step 0 when prompt-only', () => {
    const r = [1, 2, 3];
    const h = additionHook(r, 4, { coeff: 2 });
    expect(h.name).toBe('blocks.4.hook_resid_pre');
    const a = new Float32Array(6);
    h.fn(a, ctx(3));
    expect(Array.from(a)).toEqual([2, 4, 6, 2, 4, 6]);
    const p = additionHook(r, 1, { promptOnly: true });
    const b = new Float32Array(3);
    p.fn(b, ctx(1));
    expect(Array.from(b)).toEqual([0, 0, 0]);
    p.fn(b, ctx(0));
    expect(Array.from(b)).toEqual([1, 2, 3]);
  });
});

describe('weight orthogonalization', () => {
  it('rows and columns forms remove r̂ from outputs and equal (I - r̂r̂ᵀ) applied densely', () => {
    fc.assert(
      fc.property(
        f32(4).filter((r) => norm(r) > 0.1),
        f32(12),
        (r, w) => {
          const rh = unit(r);
          const P = (i: number, j: number) => (i === j ? 1 : 0) - rh[i] * rh[j];
          // W [d=4, dIn=3]: dense (I - r̂r̂ᵀ) W as the independent reference.
          const cols = orthogonalizeColumns(w, rh);
          for (let i = 0; i < 4; i++)
            for (let j = 0; j < 3; j++) {
              let s = 0;
              for (let k = 0; k < 4; k++) s += P(i, k) * w[k * 3 + j];
              expect(cols[i * 3 + j]).toBeCloseTo(s, 4);
            }
          // E [3 rows, d=4]: E (I - r̂r̂ᵀ).
          const rows = orthogonalizeRows(w, rh);
          for (let a = 0; a < 3; a++) {
            let dot = 0;
            for (let k = 0; k < 4; k++) dot += rows[a * 4 + k] * rh[k];
            expect(Math.abs(dot)).toBeLessThan(1e-5);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
  it('rejects a zero direction', () => {
    expect(() => unit([0, 0])).toThrow(/direction has zero or non-finite norm/);
  });
});

describe('selection', () => {
  const c = (pos: number, layer: number, bypass: number, induce: number, kl: number): CandidateScore => ({
    pos,
    layer,
    bypass,
    induce,
    kl,
    norm: 1,
  });
  it('drops NaN, late layers, high KL and negative induce, then takes the lowest bypass', () => {
    const cands = [
      c(-1, 0, -9, 1, 0.01),
      c(-1, 1, NaN, 1, 0.01),
      c(-2, 8, -20, 1, 0.01),
      c(-2, 2, -15, 1, 0.5),
      c(-1, 3, -12, -1, 0.01),
      c(-2, 4, -5, 2, 0.05),
    ];
    const s = selectDirection(cands, { nLayers: 10 });
    expect(s.filtered).toBe(true);
    expect([s.selected.pos, s.selected.layer]).toEqual([-1, 0]);
    expect(s.survivors.map((x) => x.layer)).toEqual([0, 4]);
    expect(s.reasons.map((r) => r.failed)).toEqual([[], ['nan'], ['layer'], ['kl'], ['induce'], []]);
  });
  it('falls back to the best bypass within the layer filter, marked filtered: false', () => {
    const s = selectDirection([c(-1, 0, -3, -1, 0.01), c(-1, 5, -30, 1, 0.01), c(-1, 1, -4, 1, 1)], { nLayers: 6 });
    expect(s.filtered).toBe(false);
    expect(s.selected.layer).toBe(1);
  });
  it('layer limit is floor(F*L)', () => {
    expect(maxLayerOf(32)).toBe(25);
    expect(maxLayerOf(10, 0.8)).toBe(8);
    expect(maxLayerOf(6, 1.0)).toBe(6);
    const s = selectDirection([c(-1, 5, -3, 1, 0.01)], { nLayers: 6, maxLayerFraction: 1 });
    expect(s.filtered).toBe(true);
  });
});

describe('cross-entropy', () => {
  it('response-only mask counts exactly the response tokens', () => {
    expect(Array.from(responseMask(3, 6))).toEqual([0, 0, 1, 1, 1, 0]);
  });
  it('CE is the mean masked -log p(next token)', () => {
    const vocab = 3;
    const logits = Float32Array.from([0, 1, 2, 2, 1, 0, 0, 0, 0]);
    const acc = { nll: 0, count: 0 };
    addSequenceCe(acc, logits, vocab, [0, 2, 0], [1, 1, 1]);
    const lp0 = logSoftmax(logits, 0, 3),
      lp1 = logSoftmax(logits, 3, 3);
    const r = ceResult(acc);
    expect(r.tokens).toBe(2);
    expect(r.ce).toBeCloseTo(-(lp0[2] + lp1[0]) / 2, 12);
    expect(r.perplexity).toBeCloseTo(Math.exp(r.ce), 12);
    expect(cosine([1, 0], [1, 1])).toBeCloseTo(Math.SQRT1_2, 12);
  });
});
