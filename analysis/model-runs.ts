/**
 * Batched forwards over chat-formatted prompts, returning only what analysis needs (last-position
 * statistics), so memory stays at one batch of activations.
 */
import { GlassboxError, UsageError } from '../engine/errors.ts';
import type { Tokenizer } from '../engine/types.ts';
import { SharedPrefixCache, sharedPrefixLength } from '../models/shared-prefix.ts';
import type { ForwardOptions, ForwardResult, Hook, Model } from '../models/types.ts';
import { DEFAULT_BATCH, type LengthBatch, PREFILL_BATCH_TOKENS, lengthBatches, nextBatch } from './batches.ts';
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

/**
 * Last-position logits of every prompt: [n, vocab], in the given order. The forwards run in length-sorted batches
 * of at most PREFILL_BATCH_TOKENS padded tokens (batches.ts): a prompt's last-position logits do not depend on which
 * prompts share its batch (padding is masked, every row's arithmetic is its own), so this equals a run in list-order
 * batches bit for bit (test/length-batches.test.ts) and computes far fewer padding positions. One exception: on
 * wasm-simd an f32 or bf16 unembedding of a batch that holds a single prompt is one row, which runs the decode
 * matvec, and that sums in another order (last bits of the logits; int8/int4 matvecs sum like their GEMMs).
 */
export async function lastLogits(model: Model, prompts: number[][], opts: RunOptions = {}): Promise<Float32Array> {
  return (await runBatches(model, prompts, prefillPlan(prompts, opts), opts, () => ({}))).logits;
}

/**
 * The length-sorted prefill batches of `prompts`: at most batchSize prompts and PREFILL_BATCH_TOKENS padded tokens,
 * not counting the prefix all of them share (models run it once per forward where they can: models/shared-prefix.ts).
 */
export function prefillPlan(prompts: number[][], opts: Pick<RunOptions, 'batchSize'> = {}): LengthBatch<number[]>[] {
  return lengthBatches(prompts, opts.batchSize ?? DEFAULT_BATCH, PREFILL_BATCH_TOKENS, sharedPrefixLength(prompts));
}

/**
 * The residual entering some blocks (blocks.{l}.hook_resid_pre, all positions) of an un-hooked run, kept per batch
 * with the batches themselves: what lastLogitsFrom needs to start a run at one of those blocks.
 */
export interface ResidualCache {
  readonly prompts: number[][];
  readonly plan: LengthBatch<number[]>[];
  readonly layers: readonly number[];
  /** [batch index] -> layer -> [batch, T, d_model] */
  readonly residuals: Map<number, Float32Array>[];
}

/**
 * lastLogits of the un-hooked model, keeping the residual entering each of `layers` (memory: padded tokens x
 * d_model x 4 bytes per layer).
 */
export async function lastLogitsKeepingResiduals(
  model: Model,
  prompts: number[][],
  layers: readonly number[],
  opts: Omit<RunOptions, 'hooks'> = {},
): Promise<{ logits: Float32Array; cache: ResidualCache }> {
  const residuals: Map<number, Float32Array>[] = [];
  const names = layers.map((l) => `blocks.${l}.hook_resid_pre`);
  const plan = prefillPlan(prompts, opts);
  const { logits } = await runBatches(
    model,
    prompts,
    plan,
    opts,
    () => ({ cache: names }),
    (res) => {
      const kept = new Map<number, Float32Array>();
      layers.forEach((l, i) => {
        const a = res.cache.get(names[i]);
        if (!a) throw new GlassboxError(`forward did not return ${names[i]}`);
        kept.set(l, a.data);
      });
      residuals.push(kept);
    },
  );
  return { logits, cache: { prompts, plan, layers, residuals } };
}

/**
 * lastLogits of the cached prompts with `hooks`, starting at block `layer` from the cached residual: equal to the
 * full run (bit for bit: the same batches, the same arithmetic from that block on) when every hook acts at
 * `layer` or above (the model refuses one below it), at about (L - layer) / L of its cost.
 */
export async function lastLogitsFrom(
  model: Model,
  cache: ResidualCache,
  layer: number,
  opts: Omit<RunOptions, 'batchSize'> = {},
): Promise<Float32Array> {
  if (!cache.layers.includes(layer)) throw new GlassboxError(`residual cache holds layers ${cache.layers.join(', ')}, not ${layer}`);
  let b = 0;
  const start = () => ({ start: { layer, residual: cache.residuals[b++].get(layer)! } });
  return (await runBatches(model, cache.prompts, cache.plan, opts, start)).logits;
}

/** The batched last-logits loop: `extra` adds per-batch forward options, `seen` reads each batch's result. */
async function runBatches(
  model: Model,
  prompts: number[][],
  plan: LengthBatch<number[]>[],
  opts: RunOptions,
  extra: () => ForwardOptions,
  seen?: (res: ForwardResult) => void,
): Promise<{ logits: Float32Array }> {
  const vocab = model.config.vocabSize;
  const out = new Float32Array(prompts.length * vocab);
  // The prefix every prompt shares runs once for the whole call, not once per batch (models/shared-prefix.ts).
  const prefixCache = new SharedPrefixCache(sharedPrefixLength(prompts));
  for (const { indices, items } of plan) {
    await nextBatch(opts.signal, 'forward');
    const res = await model.forward(items, { hooks: opts.hooks, logits: 'last', prefixCache, ...extra() });
    seen?.(res);
    // logitsShape is [batch, 1, vocab] with logits 'last'; rows go back to the caller's order.
    indices.forEach((i, row) => out.set(res.logits.subarray(row * vocab, (row + 1) * vocab), i * vocab));
    opts.onBatch?.(items.length);
  }
  return { logits: out };
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
