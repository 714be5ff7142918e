/**
 * Display strings for token ids (one decode per id, special tokens kept), shared by the interpretability views.
 *   tokenLabels(model, ids): string[]   — the id itself ("#17") when the model folder has no tokenizer.
 */
import type { Model } from '../models/types.ts';

export function tokenLabels(model: Pick<Model, 'tokenizer'>, ids: readonly number[]): string[] {
  const tok = model.tokenizer;
  return ids.map((id) => (tok ? tok.decode([id], { skipSpecialTokens: false }) : `#${id}`));
}

/** Lets the event loop run between batches (portable: no setImmediate, so it also works in a browser). */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
