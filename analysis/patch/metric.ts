/**
 * Patching metrics on the last position's logits (float64).
 *   metricValue(metric, logits, offset, vocab): number
 *     logit-diff: logit[answer] − logit[wrong];  refusal-score: log(P_ref + 1e-8) − log(1 − P_ref + 1e-8) (Arditi).
 *   checkMetric(metric, vocab): throws UsageError on ids outside the vocabulary.
 */
import { UsageError } from '../../engine/errors.ts';
import { refusalScore } from '../logit-math.ts';

export type PatchMetric = { kind: 'logit-diff'; answer: number; wrong: number } | { kind: 'refusal-score'; refusalTokens: number[] };

export function metricValue(m: PatchMetric, logits: Float32Array, offset: number, vocab: number): number {
  if (m.kind === 'logit-diff') return logits[offset + m.answer] - logits[offset + m.wrong];
  return refusalScore(logits, m.refusalTokens, offset, vocab);
}

export function checkMetric(m: PatchMetric, vocab: number): void {
  const ids = m.kind === 'logit-diff' ? [m.answer, m.wrong] : m.refusalTokens;
  if (m.kind === 'refusal-score' && ids.length === 0) throw new UsageError('patch metric refusal-score: no refusal tokens');
  for (const id of ids)
    if (!(Number.isInteger(id) && id >= 0 && id < vocab))
      throw new UsageError(`patch metric ${m.kind}: token id ${id} is outside 0..${vocab - 1}`);
}
