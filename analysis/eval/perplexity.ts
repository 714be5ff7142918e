/**
 * Cross-entropy / perplexity from all-position logits: CE = sum over masked positions t of
 * -log p(token[t+1] | <= t) / count (docs/method-notes.md §2.8). mask[t] = 1 means "predict token t+1 from position t".
 */
import { logSoftmax } from '../logit-math.ts';

export interface CeAccumulator {
  nll: number;
  count: number;
}

/** Adds one sequence: logits [T, vocab] for ids [T]; mask length T (the last position is never used). */
export function addSequenceCe(acc: CeAccumulator, logits: Float32Array, vocab: number, ids: number[], mask: ArrayLike<number>): void {
  for (let t = 0; t + 1 < ids.length; t++) {
    if (!mask[t]) continue;
    const lp = logSoftmax(logits, t * vocab, vocab);
    acc.nll -= lp[ids[t + 1]];
    acc.count++;
  }
}

export function ceResult(acc: CeAccumulator): { ce: number; perplexity: number; tokens: number } {
  const ce = acc.count ? acc.nll / acc.count : NaN;
  return { ce, perplexity: Math.exp(ce), tokens: acc.count };
}

/**
 * Mask for a prompt + response sequence: positions whose next token is in the response count
 * (t >= promptLen - 1), i.e. everything up to and including the post-instruction tokens is context only.
 */
export function responseMask(promptLen: number, totalLen: number): Uint8Array {
  const m = new Uint8Array(totalLen);
  for (let t = Math.max(0, promptLen - 1); t + 1 < totalLen; t++) m[t] = 1;
  return m;
}
