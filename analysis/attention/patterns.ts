/**
 * Attention patterns per layer and head for one prompt.
 *   attentionPatterns(model, ids, opts?): Promise<AttentionResult>
 *     opts.layers / opts.heads: subsets (default all). pattern[q][k] = softmax weight of query q on key k
 *     (causal: 0 for k > q), read at blocks.l.attn.hook_pattern. GQA models report every query head.
 */
import { UsageError } from '../../engine/errors.ts';
import type { Model } from '../../models/types.ts';
import { tokenLabels } from '../token-labels.ts';

export interface AttentionOptions {
  layers?: number[];
  heads?: number[];
}

export interface AttentionResult {
  tokens: string[];
  ids: number[];
  nLayers: number;
  nHeads: number;
  layers: { layer: number; heads: { head: number; pattern: number[][] }[] }[];
}

function checkIndices(xs: number[] | undefined, n: number, what: string): number[] {
  if (!xs) return Array.from({ length: n }, (_, i) => i);
  for (const x of xs) if (!(Number.isInteger(x) && x >= 0 && x < n)) throw new UsageError(`attention: ${what} ${x} is outside 0..${n - 1}`);
  return xs;
}

export async function attentionPatterns(model: Model, ids: number[], opts: AttentionOptions = {}): Promise<AttentionResult> {
  const { nLayers, nHeads } = model.config;
  if (ids.length === 0) throw new UsageError('attention: empty prompt');
  const layers = checkIndices(opts.layers, nLayers, 'layer');
  const heads = checkIndices(opts.heads, nHeads, 'head');
  const r = await model.forward([ids], { cache: layers.map((l) => `blocks.${l}.attn.hook_pattern`), logits: 'none' });
  const T = ids.length;
  return {
    tokens: tokenLabels(model, ids),
    ids: [...ids],
    nLayers,
    nHeads,
    layers: layers.map((layer) => {
      // [batch 1, heads, q, k]
      const a = r.cache.get(`blocks.${layer}.attn.hook_pattern`)!.data;
      return {
        layer,
        heads: heads.map((head) => ({
          head,
          pattern: Array.from({ length: T }, (_, q) => Array.from(a.subarray((head * T + q) * T, (head * T + q + 1) * T))),
        })),
      };
    }),
  };
}
