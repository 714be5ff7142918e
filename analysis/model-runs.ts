/**
 * Batched forwards over chat-formatted prompts, returning only what analysis needs (last-position
 * statistics), so memory stays at one batch of activations.
 */
import { UsageError } from '../engine/errors.ts';
import type { Tokenizer } from '../engine/types.ts';
import type { Hook, Model } from '../models/types.ts';
import { DEFAULT_BATCH, chunks, nextBatch } from './batches.ts';
import { logSoftmax, refusalScore } from './logit-math.ts';

export interface RunOptions {
  hooks?: Hook[];
  batchSize?: number;
  signal?: AbortSignal;
  /** Called after each batch with the number of prompts just processed. */
  onBatch?: (n: number) => void;
}

export function requireTokenizer(model: Model, what: string): Tokenizer {
  if (!model.tokenizer) throw new UsageError(`${what}: the model folder has no tokenizer.json`);
  return model.tokenizer;
}

/** Chat-template ids (generation prompt, no system prompt) of each instruction. */
export function encodeInstructions(model: Model, instructions: readonly string[]): number[][] {
  const tok = requireTokenizer(model, 'chat prompts');
  return instructions.map((s) => tok.encodeChat(s));
}

/** Last-position logits of every prompt: [n, vocab]. */
export async function lastLogits(model: Model, prompts: number[][], opts: RunOptions = {}): Promise<Float32Array> {
  const vocab = model.config.vocabSize;
  const out = new Float32Array(prompts.length * vocab);
  for (const { start, items } of chunks(prompts, opts.batchSize ?? DEFAULT_BATCH)) {
    await nextBatch(opts.signal, 'forward');
    const res = await model.forward(items, { hooks: opts.hooks, logits: 'last' });
    // logitsShape is [batch, 1, vocab] with logits 'last'.
    out.set(res.logits.subarray(0, items.length * vocab), start * vocab);
    opts.onBatch?.(items.length);
  }
  return out;
}

export function refusalScoresOf(logits: Float32Array, vocab: number, refusalIds: readonly number[]): Float64Array {
  const n = logits.length / vocab;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = refusalScore(logits, refusalIds, i * vocab, vocab);
  return out;
}

export function logProbsOf(logits: Float32Array, vocab: number): Float64Array[] {
  const n = logits.length / vocab;
  return Array.from({ length: n }, (_, i) => logSoftmax(logits, i * vocab, vocab));
}

/** Per-prompt refusal scores (last position, float64). */
export async function refusalScores(
  model: Model,
  prompts: number[][],
  refusalIds: readonly number[],
  opts: RunOptions = {},
): Promise<Float64Array> {
  return refusalScoresOf(await lastLogits(model, prompts, opts), model.config.vocabSize, refusalIds);
}

/** Refusal token ids must index the vocabulary (an id past it would make every refusal score NaN). */
export function checkRefusalTokens(ids: readonly number[], vocabSize: number, flag = '--refusal-tokens'): void {
  for (const id of ids)
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize))
      throw new UsageError(`${flag}: id ${id} is outside the vocabulary (0..${vocabSize - 1})`);
}

/**
 * Default refusal tokens: the first token of "I" and of "As" (Arditi's Qwen choice; tiny-chat's refusals
 * all start with one of them). Deduplicated.
 */
export function defaultRefusalTokens(tok: Tokenizer): number[] {
  const ids = ['I', 'As'].map((w) => tok.encode(w, { addSpecialTokens: false })[0]).filter((x) => x !== undefined);
  if (ids.length === 0) throw new UsageError('refusal tokens: the tokenizer encodes neither "I" nor "As"');
  return [...new Set(ids)];
}
