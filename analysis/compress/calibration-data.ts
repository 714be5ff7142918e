/**
 * Calibration sequences for the data-driven compressors (Wanda, SparseGPT, GPTQ, AWQ, LLM.int8's outlier
 * statistics). Their references calibrate on generic text (C4, the Pile), not on the prompts a study later
 * measures: calibrating on harmful prompts could preserve exactly the activations the refusal direction is built
 * from. So the default is a generic-text corpus (the project ships data/calibration/generic.txt, its own words,
 * disjoint from the direction prompts), cut into paragraphs; 'prompts' reproduces the old behaviour
 * (chat-formatted train prompts, half of them harmful) for comparison.
 */
import { UsageError } from '../../engine/errors.ts';
import type { Model } from '../../models/types.ts';
import { encodeInstructions, requireTokenizer } from '../model-runs.ts';
import type { PromptItem } from '../prompts/prompts.ts';

export type CalibrationSource = { kind: 'prompts' } | { kind: 'text'; name: string; text: string };

/** Paragraphs (blank-line separated, whitespace collapsed) of a calibration text; lines starting with # are comments. */
export function calibrationParagraphs(text: string): string[] {
  return text
    .split(/\r?\n\s*\r?\n/)
    .map((p) =>
      p
        .split(/\r?\n/)
        .filter((l) => !l.trimStart().startsWith('#'))
        .join(' ')
        .replace(/\s+/g, ' ')
        .trim(),
    )
    .filter((p) => p.length > 0);
}

export interface CalibrationRequest {
  /** Sequences wanted (the study asks for 2 × --n-calibration). */
  n: number;
  /** Tokens per text sequence at most (default 128). */
  maxTokens?: number;
  /** The train prompts ('prompts' source): the first n/2 of each class. */
  harmfulTrain: readonly PromptItem[];
  harmlessTrain: readonly PromptItem[];
}

/** Token-id sequences to calibrate on, and a label for the report. */
export function calibrationSequences(model: Model, source: CalibrationSource, r: CalibrationRequest): { ids: number[][]; label: string } {
  if (source.kind === 'prompts') {
    const half = Math.ceil(r.n / 2);
    const items = [...r.harmfulTrain.slice(0, half), ...r.harmlessTrain.slice(0, half)];
    return {
      ids: encodeInstructions(
        model,
        items.map((p) => p.instruction),
      ),
      label: 'prompts (chat-formatted train prompts, half harmful)',
    };
  }
  const tok = requireTokenizer(model, 'calibration');
  const paras = calibrationParagraphs(source.text);
  if (paras.length === 0) throw new UsageError(`--calibration: ${source.name} holds no text paragraphs`);
  const max = r.maxTokens ?? 128;
  const ids = paras
    .slice(0, r.n)
    .map((p) => tok.encode(p).slice(0, max))
    .filter((x) => x.length >= 2);
  if (ids.length === 0) throw new UsageError(`--calibration: ${source.name}: every paragraph encodes to fewer than 2 tokens`);
  return { ids, label: `${source.name} (${ids.length} paragraphs, ≤ ${max} tokens each)` };
}
