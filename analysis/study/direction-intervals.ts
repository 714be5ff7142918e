/**
 * Uncertainty of refusal-direction comparisons, by resampling prompts: the difference in means is a mean over
 * train prompts, so a cosine between two models' directions has sampling noise the point value hides.
 *  - cosineIntervals: paired percentile bootstrap (the same resampled prompts for both models) of cos(r_a, r_b);
 *  - splitHalfCosine: the noise floor, cos of one model's direction from two disjoint random halves of its train
 *    prompts (each half has n/2 prompts, so this floor is lower than a full-n vs full-n comparison would be).
 */
import type { Model } from '../../models/types.ts';
import { nextBatch } from '../batches.ts';
import { type RunOptions, prefillPlan } from '../model-runs.ts';
import { mulberry32 } from '../../engine/prng.ts';
import { type Interval, percentileInterval, resampleCounts } from '../stats/intervals.ts';
import { shuffled } from '../prompts/sampling.ts';
import { cosine } from '../vector-math.ts';

/** Per-prompt resid_pre of every block at one relative position: harmful / harmless [n, nLayers, dModel]. */
export interface PromptResiduals {
  harmful: Float32Array;
  harmless: Float32Array;
  nHarmful: number;
  nHarmless: number;
  nLayers: number;
  dModel: number;
}

async function residualsOf(model: Model, prompts: number[][], relPos: number, opts: RunOptions): Promise<Float32Array> {
  const { nLayers: L, dModel: d } = model.config;
  const out = new Float32Array(prompts.length * L * d);
  for (const { indices, items } of prefillPlan(prompts, opts)) {
    await nextBatch(opts.signal, 'direction intervals');
    const res = await model.forward(items, {
      cache: ['blocks.*.hook_resid_pre'],
      cachePositions: [relPos],
      logits: 'none',
      hooks: opts.hooks,
    });
    for (let l = 0; l < L; l++) {
      const a = res.cache.get(`blocks.${l}.hook_resid_pre`);
      if (!a) throw new Error(`forward did not return blocks.${l}.hook_resid_pre`);
      for (let b = 0; b < items.length; b++) out.set(a.data.subarray(b * d, (b + 1) * d), (indices[b] * L + l) * d);
    }
    opts.onBatch?.(items.length);
  }
  return out;
}

export async function promptResiduals(
  model: Model,
  harmful: number[][],
  harmless: number[][],
  relPos: number,
  opts: RunOptions = {},
): Promise<PromptResiduals> {
  return {
    harmful: await residualsOf(model, harmful, relPos, opts),
    harmless: await residualsOf(model, harmless, relPos, opts),
    nHarmful: harmful.length,
    nHarmless: harmless.length,
    nLayers: model.config.nLayers,
    dModel: model.config.dModel,
  };
}

/** Weighted difference in means at `layer` (weights = resample counts; null = every prompt once). */
export function weightedDiff(r: PromptResiduals, layer: number, wh: Float64Array | null, ws: Float64Array | null): Float64Array {
  const { nLayers: L, dModel: d } = r;
  const out = new Float64Array(d);
  const acc = (x: Float32Array, n: number, w: Float64Array | null, sign: number) => {
    let tot = 0;
    const sum = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const c = w ? w[i] : 1;
      if (c === 0) continue;
      tot += c;
      const o = (i * L + layer) * d;
      for (let j = 0; j < d; j++) sum[j] += c * x[o + j];
    }
    for (let j = 0; j < d; j++) out[j] += (sign * sum[j]) / tot;
  };
  acc(r.harmful, r.nHarmful, wh, 1);
  acc(r.harmless, r.nHarmless, ws, -1);
  return out;
}

/** The one cosine (analysis/vector-math.ts), NaN where a norm is zero (a replicate with no direction). */
const cos = (a: Float64Array, b: Float64Array): number => cosine(a, b) ?? NaN;

export interface BootstrapOptions {
  replicates?: number; // 1000
  seed?: number;
}

/**
 * Paired bootstrap of cos(diff_a at layer la, diff_b at layer lb) for each pair: both models' residuals come from
 * the same prompts (same order), and each replicate resamples harmful and harmless prompts with replacement.
 */
export function cosineIntervals(
  a: PromptResiduals,
  b: PromptResiduals,
  pairs: { la: number; lb: number }[],
  o: BootstrapOptions = {},
): Interval[] {
  if (a.nHarmful !== b.nHarmful || a.nHarmless !== b.nHarmless)
    throw new RangeError('cosineIntervals: the two models saw different prompt counts');
  const B = o.replicates ?? 1000;
  const rand = mulberry32(o.seed ?? 1);
  const values = pairs.map((p) => cos(weightedDiff(a, p.la, null, null), weightedDiff(b, p.lb, null, null)));
  const reps = pairs.map(() => new Float64Array(B));
  const ch = new Float64Array(a.nHarmful);
  const cs = new Float64Array(a.nHarmless);
  for (let r = 0; r < B; r++) {
    resampleCounts(a.nHarmful, rand, ch);
    resampleCounts(a.nHarmless, rand, cs);
    pairs.forEach((p, i) => (reps[i][r] = cos(weightedDiff(a, p.la, ch, cs), weightedDiff(b, p.lb, ch, cs))));
  }
  return values.map((v, i) => percentileInterval(v, reps[i]));
}

/**
 * Split-half noise floor at `layer`: over `replicates` random halvings of each class, cos(diff of half 1, diff of
 * half 2). value = the mean over halvings, lo/hi = its 2.5 / 97.5 percentiles.
 */
export function splitHalfCosine(r: PromptResiduals, layer: number, o: BootstrapOptions = {}): Interval {
  const B = o.replicates ?? 1000;
  const seed = o.seed ?? 1;
  const reps = new Float64Array(B);
  const halves = (n: number, s: number) => {
    const idx = shuffled(
      Array.from({ length: n }, (_, i) => i),
      s,
    );
    const w1 = new Float64Array(n);
    const w2 = new Float64Array(n);
    idx.forEach((i, j) => ((j < Math.floor(n / 2) ? w1 : w2)[i] = 1));
    return [w1, w2];
  };
  for (let b = 0; b < B; b++) {
    const [h1, h2] = halves(r.nHarmful, seed * 7919 + 2 * b);
    const [s1, s2] = halves(r.nHarmless, seed * 7919 + 2 * b + 1);
    reps[b] = cos(weightedDiff(r, layer, h1, s1), weightedDiff(r, layer, h2, s2));
  }
  const finite = reps.filter((x) => !Number.isNaN(x));
  const mean = finite.reduce((a, x) => a + x, 0) / finite.length;
  return percentileInterval(mean, reps);
}
