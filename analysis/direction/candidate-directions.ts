/**
 * Difference-in-means candidates from the model: resid_pre of every block at the last nPos positions
 * (the post-instruction tokens of left-padded prompts), accumulated in float64 (docs/method-notes.md §2.4).
 */
import type { Model } from '../../models/types.ts';
import { GlassboxError } from '../../engine/errors.ts';
import { nextBatch } from '../batches.ts';
import { Candidates, MeanAccumulator } from './diff-means.ts';
import { type RunOptions, prefillPlan, refusalScoresOf } from '../model-runs.ts';

/**
 * Float64 sums of each prompt's resid_pre rows. The forwards run in length-sorted batches (less padding), but the
 * rows are added in list order, so the sums are those of the unsorted run bit for bit: a prompt's rows wait until
 * every earlier prompt's were added (at worst all of them: prompts x nLayers x nPos x d_model x 4 bytes).
 */
export async function accumulateMeans(model: Model, prompts: number[][], nPos: number, opts: RunOptions = {}): Promise<MeanAccumulator> {
  return (await meanPass(model, prompts, nPos, opts, null)).all;
}

/** What filterAndAccumulate returns: every prompt's refusal score, and the sums of the kept prompts and of all. */
export interface FilteredMeans {
  scores: Float64Array;
  kept: MeanAccumulator;
  all: MeanAccumulator;
}

/**
 * The refusal-score filter and the difference-in-means sums in one pass over the train prompts: each forward keeps
 * the last-position logits and the resid_pre rows, a prompt's score decides at once whether its rows join `kept`
 * (`all` takes every prompt, for the filter's keep-everything fallback). Both are added in list order, so `kept`
 * equals accumulateMeans over the filtered list bit for bit (a row's arithmetic does not depend on its batch, nor on
 * whether the logits are computed), and the train prompts are run once instead of twice.
 */
export async function filterAndAccumulate(
  model: Model,
  prompts: number[][],
  nPos: number,
  refusalIds: readonly number[],
  keep: (score: number) => boolean,
  opts: RunOptions = {},
): Promise<FilteredMeans> {
  return (await meanPass(model, prompts, nPos, opts, { refusalIds, keep })) as FilteredMeans;
}

async function meanPass(
  model: Model,
  prompts: number[][],
  nPos: number,
  opts: RunOptions,
  filter: { refusalIds: readonly number[]; keep: (score: number) => boolean } | null,
): Promise<{ scores: Float64Array | null; kept: MeanAccumulator | null; all: MeanAccumulator }> {
  const { nLayers, dModel, vocabSize } = model.config;
  const all = new MeanAccumulator(nPos, nLayers, dModel);
  const kept = filter ? new MeanAccumulator(nPos, nLayers, dModel) : null;
  const scores = filter ? new Float64Array(prompts.length) : null;
  const positions = Array.from({ length: nPos }, (_, i) => i - nPos);
  const waiting = new Map<number, Float32Array[]>(); // prompt index -> per layer [nPos, dModel]
  let next = 0;
  const row = nPos * dModel;
  for (const { indices, items } of prefillPlan(prompts, opts)) {
    await nextBatch(opts.signal, filter ? 'filtering' : 'difference in means');
    const res = await model.forward(items, {
      cache: ['blocks.*.hook_resid_pre'],
      cachePositions: positions,
      logits: filter ? 'last' : 'none',
      hooks: opts.hooks,
    });
    if (filter) {
      const s = refusalScoresOf(res.logits, vocabSize, filter.refusalIds);
      indices.forEach((i, b) => (scores![i] = s[b]));
    }
    const acts = Array.from({ length: nLayers }, (_, l) => {
      const a = res.cache.get(`blocks.${l}.hook_resid_pre`);
      if (!a) throw new GlassboxError(`forward did not return blocks.${l}.hook_resid_pre`);
      return a.data;
    });
    indices.forEach((i, b) =>
      waiting.set(
        i,
        acts.map((a) => a.subarray(b * row, (b + 1) * row)),
      ),
    );
    for (let rows = waiting.get(next); rows; rows = waiting.get(next)) {
      rows.forEach((a, l) => all.addLayer(l, a, 1));
      all.addCount(1);
      if (kept && filter!.keep(scores![next])) {
        rows.forEach((a, l) => kept.addLayer(l, a, 1));
        kept.addCount(1);
      }
      waiting.delete(next++);
    }
    opts.onBatch?.(items.length);
  }
  return { scores, kept, all };
}

export async function candidateDirections(
  model: Model,
  harmful: number[][],
  harmless: number[][],
  nPos: number,
  opts: RunOptions = {},
): Promise<Candidates> {
  const mu = await accumulateMeans(model, harmful, nPos, opts);
  const nu = await accumulateMeans(model, harmless, nPos, opts);
  return Candidates.fromMeans(mu, nu);
}
