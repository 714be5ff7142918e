/**
 * Difference-in-means candidates from the model: resid_pre of every block at the last nPos positions
 * (the post-instruction tokens of left-padded prompts), accumulated in float64 (docs/method-notes.md §2.4).
 */
import type { Model } from '../../models/types.ts';
import { DEFAULT_BATCH, chunks, nextBatch } from '../batches.ts';
import { Candidates, MeanAccumulator } from './diff-means.ts';
import type { RunOptions } from '../model-runs.ts';

export async function accumulateMeans(model: Model, prompts: number[][], nPos: number, opts: RunOptions = {}): Promise<MeanAccumulator> {
  const { nLayers, dModel } = model.config;
  const acc = new MeanAccumulator(nPos, nLayers, dModel);
  const positions = Array.from({ length: nPos }, (_, i) => i - nPos);
  for (const { items } of chunks(prompts, opts.batchSize ?? DEFAULT_BATCH)) {
    await nextBatch(opts.signal, 'difference in means');
    const res = await model.forward(items, {
      cache: ['blocks.*.hook_resid_pre'],
      cachePositions: positions,
      logits: 'none',
      hooks: opts.hooks,
    });
    for (let l = 0; l < nLayers; l++) {
      const a = res.cache.get(`blocks.${l}.hook_resid_pre`);
      if (!a) throw new Error(`forward did not return blocks.${l}.hook_resid_pre`);
      acc.addLayer(l, a.data, items.length);
    }
    acc.addCount(items.length);
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
