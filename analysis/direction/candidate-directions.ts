/**
 * Difference-in-means candidates from the model: resid_pre of every block at the last nPos positions
 * (the post-instruction tokens of left-padded prompts), accumulated in float64 (docs/method-notes.md §2.4).
 */
import type { Model } from '../../models/types.ts';
import { GlassboxError } from '../../engine/errors.ts';
import { nextBatch } from '../batches.ts';
import { Candidates, MeanAccumulator } from './diff-means.ts';
import { type RunOptions, prefillPlan } from '../model-runs.ts';

/**
 * Float64 sums of each prompt's resid_pre rows. The forwards run in length-sorted batches (less padding), but the
 * rows are added in list order, so the sums are those of the unsorted run bit for bit: a prompt's rows wait until
 * every earlier prompt's were added (at worst all of them: prompts x nLayers x nPos x d_model x 4 bytes).
 */
export async function accumulateMeans(model: Model, prompts: number[][], nPos: number, opts: RunOptions = {}): Promise<MeanAccumulator> {
  const { nLayers, dModel } = model.config;
  const acc = new MeanAccumulator(nPos, nLayers, dModel);
  const positions = Array.from({ length: nPos }, (_, i) => i - nPos);
  const waiting = new Map<number, Float32Array[]>(); // prompt index -> per layer [nPos, dModel]
  let next = 0;
  const row = nPos * dModel;
  for (const { indices, items } of prefillPlan(prompts, opts)) {
    await nextBatch(opts.signal, 'difference in means');
    const res = await model.forward(items, {
      cache: ['blocks.*.hook_resid_pre'],
      cachePositions: positions,
      logits: 'none',
      hooks: opts.hooks,
    });
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
      rows.forEach((a, l) => acc.addLayer(l, a, 1));
      acc.addCount(1);
      waiting.delete(next++);
    }
    opts.onBatch?.(items.length);
  }
  return acc;
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
