/**
 * Evaluation (docs/method-notes.md §2.7-2.8): greedy completions judged for refusal, refusal rate overall and per
 * category, mean refusal score, KL between two configurations (models and/or hooks), and CE / perplexity.
 */
import { UsageError } from '../../engine/errors.ts';
import type { Hook, Model } from '../../models/types.ts';
import { DEFAULT_BATCH, chunks, lengthBatches, nextBatch } from '../batches.ts';
import { type Judge, judgeAll, substringJudge } from './judge.ts';
import { klFromLogProbs, mean } from '../logit-math.ts';
import { encodeInstructions, lastLogits, logProbsOf, refusalScoresOf, requireTokenizer } from '../model-runs.ts';
import { type CeAccumulator, addSequenceCe, ceResult, responseMask } from './perplexity.ts';
import type { PromptItem } from '../prompts/prompts.ts';

export interface GenerationOptions {
  hooks?: Hook[];
  maxNewTokens?: number; // 64
  batchSize?: number;
  signal?: AbortSignal;
  onBatch?: (n: number) => void;
}

export const MAX_NEW_TOKENS_LIMIT = 512;

/** Greedy completions, decoded without special tokens and trimmed (as Arditi's generate_completions). */
export async function generateCompletions(model: Model, items: readonly PromptItem[], o: GenerationOptions = {}): Promise<string[]> {
  const tok = requireTokenizer(model, 'generate');
  const ids = encodeInstructions(
    model,
    items.map((p) => p.instruction),
  );
  // Length-sorted batches pad less; each row's greedy tokens do not depend on its batch (test/length-batches.test.ts).
  const out: string[] = new Array(ids.length);
  for (const { indices, items: batch } of lengthBatches(ids, o.batchSize ?? DEFAULT_BATCH)) {
    await nextBatch(o.signal, 'generation');
    const res = await model.generate(batch, { maxNewTokens: o.maxNewTokens ?? 64, temperature: 0, hooks: o.hooks, signal: o.signal });
    res.tokens.forEach((t, b) => (out[indices[b]] = tok.decode(t, { skipSpecialTokens: true }).trim()));
    o.onBatch?.(batch.length);
  }
  return out;
}

export interface CompletionRecord {
  instruction: string;
  category: string | null;
  completion: string;
  refused: boolean;
  refusalScore: number;
}

export interface RefusalEval {
  n: number;
  /** Fraction of completions judged refusals. */
  refusalRate: number;
  /** Mean last-position refusal log-odds (clarifications: "refusal score"). */
  refusalScore: number;
  perCategory: Record<string, { n: number; refusalRate: number }>;
  completions: CompletionRecord[];
}

export function refusalRates(records: CompletionRecord[]): Pick<RefusalEval, 'n' | 'refusalRate' | 'perCategory'> {
  const perCategory: RefusalEval['perCategory'] = {};
  const groups = new Map<string, boolean[]>();
  for (const r of records) {
    const key = r.category ?? 'uncategorized';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(r.refused);
  }
  for (const [k, v] of [...groups].sort((a, b) => a[0].localeCompare(b[0])))
    perCategory[k] = { n: v.length, refusalRate: v.filter(Boolean).length / v.length };
  return { n: records.length, refusalRate: records.length ? records.filter((r) => r.refused).length / records.length : NaN, perCategory };
}

export interface EvalOptions extends GenerationOptions {
  judge?: Judge;
  refusalTokens: readonly number[];
}

/** Completions + judge + refusal scores under the same hooks. */
export async function evaluateRefusal(model: Model, items: readonly PromptItem[], o: EvalOptions): Promise<RefusalEval> {
  const judge = o.judge ?? substringJudge;
  const completions = await generateCompletions(model, items, o);
  const logits = await lastLogits(
    model,
    encodeInstructions(
      model,
      items.map((p) => p.instruction),
    ),
    { hooks: o.hooks, batchSize: o.batchSize, signal: o.signal },
  );
  const scores = refusalScoresOf(logits, model.config.vocabSize, o.refusalTokens);
  const verdicts = await judgeAll(
    judge,
    items.map((p, i) => ({ id: String(i), prompt: p.instruction, completion: completions[i] })),
    o.signal,
  );
  const records: CompletionRecord[] = [];
  for (let i = 0; i < items.length; i++)
    records.push({
      instruction: items[i].instruction,
      category: items[i].category,
      completion: completions[i],
      refused: verdicts[i].refusal,
      refusalScore: scores[i],
    });
  return { ...refusalRates(records), refusalScore: mean(scores), completions: records };
}

export interface Config {
  model: Model;
  hooks?: Hook[];
}

/** KL(P_a || P_b) of last-position distributions, per chat prompt (for intervals over prompts). */
export async function klPerPrompt(
  a: Config,
  b: Config,
  items: readonly PromptItem[],
  o: { batchSize?: number; signal?: AbortSignal } = {},
): Promise<number[]> {
  const ids = encodeInstructions(
    a.model,
    items.map((p) => p.instruction),
  );
  const vocab = a.model.config.vocabSize;
  const la = logProbsOf(await lastLogits(a.model, ids, { ...o, hooks: a.hooks }), vocab);
  const lb = logProbsOf(await lastLogits(b.model, ids, { ...o, hooks: b.hooks }), vocab);
  return la.map((p, i) => klFromLogProbs(p, lb[i]));
}

/** Mean KL(P_a || P_b) of last-position distributions over chat prompts. */
export async function klBetween(
  a: Config,
  b: Config,
  items: readonly PromptItem[],
  o: { batchSize?: number; signal?: AbortSignal } = {},
): Promise<number> {
  return mean(await klPerPrompt(a, b, items, o));
}

export interface CeSequence {
  ids: number[];
  mask: Uint8Array;
}

/** Chat prompt + reference response, loss on the response tokens only (Arditi's alpaca CE). */
export function responseSequences(model: Model, pairs: readonly { instruction: string; output: string }[]): CeSequence[] {
  const tok = requireTokenizer(model, 'perplexity');
  return pairs.map((p) => {
    const prompt = tok.encodeChat(p.instruction);
    const ids = [...prompt, ...tok.encode(p.output, { addSpecialTokens: false })];
    return { ids, mask: responseMask(prompt.length, ids.length) };
  });
}

/**
 * Plain text cut into windows of `window` tokens that overlap by one token, so every next-token prediction of
 * the text is counted exactly once (only the very first token has no context).
 */
export function textSequences(model: Model, text: string, window = 256): CeSequence[] {
  // Windows advance by window - 1 tokens: a window of 1 would never advance.
  if (!(Number.isInteger(window) && window >= 2)) throw new UsageError(`perplexity: window ${window} must be an integer >= 2`);
  const tok = requireTokenizer(model, 'perplexity');
  const ids = tok.encode(text);
  const out: CeSequence[] = [];
  for (let s = 0; s + 1 < ids.length; s += window - 1) {
    const w = ids.slice(s, s + window);
    out.push({ ids: w, mask: responseMask(1, w.length) });
  }
  return out;
}

/** CE and perplexity over sequences (all-position logits; sequences are run one batch at a time). */
export async function crossEntropy(
  model: Model,
  seqs: readonly CeSequence[],
  o: { hooks?: Hook[]; batchSize?: number; signal?: AbortSignal } = {},
) {
  const vocab = model.config.vocabSize;
  const acc: CeAccumulator = { nll: 0, count: 0 };
  for (const { items } of chunks(seqs, o.batchSize ?? 8)) {
    await nextBatch(o.signal, 'perplexity');
    const res = await model.forward(
      items.map((s) => s.ids),
      { hooks: o.hooks, logits: 'all' },
    );
    const T = res.logitsShape[1];
    items.forEach((s, b) => {
      const pad = res.padding[b];
      // Row b's token t sits at padded position pad + t.
      const rows = res.logits.subarray((b * T + pad) * vocab, (b + 1) * T * vocab);
      addSequenceCe(acc, rows, vocab, s.ids, s.mask);
    });
  }
  return ceResult(acc);
}
