/**
 * Attack success on a harmful benchmark (Arditi et al. 2024 §4: JailbreakBench / AdvBench goals, greedy completions,
 * judged): per configuration (the model as it is, and under an intervention such as directional ablation), the
 * fraction of completions the judge does NOT call a refusal, with its Wilson 95% interval. A judge that also rates
 * harmfulness adds the fraction judged harmful.
 */
import type { Hook, Model } from '../../models/types.ts';
import { type Rate, wilson } from '../stats/intervals.ts';
import type { PromptItem } from '../prompts/prompts.ts';
import { generateCompletions } from './evaluate.ts';
import { type Judge, judgeAll } from './judge.ts';

export interface AttackConfig {
  /** e.g. 'baseline', 'ablated'. */
  label: string;
  hooks?: Hook[];
}

export interface AttackCompletion {
  id: string;
  goal: string;
  category: string | null;
  completion: string;
  refusal: boolean;
  harmful?: boolean;
}

export interface AttackResult {
  label: string;
  /** Completions judged not a refusal. */
  attackSuccess: Rate;
  refusal: Rate;
  /** Completions judged harmful (only when the judge rated every completion). */
  harmful?: Rate;
  completions: AttackCompletion[];
}

export interface AttackOptions {
  judge: Judge;
  maxNewTokens: number;
  batchSize?: number;
  signal?: AbortSignal;
  onBatch?: (n: number) => void;
}

/** Greedy completions of every goal under each configuration, judged in one batch per configuration. */
export async function attackSuccess(
  model: Model,
  items: readonly PromptItem[],
  configs: readonly AttackConfig[],
  o: AttackOptions,
): Promise<AttackResult[]> {
  const out: AttackResult[] = [];
  for (const c of configs) {
    const completions = await generateCompletions(model, items, {
      hooks: c.hooks,
      maxNewTokens: o.maxNewTokens,
      batchSize: o.batchSize,
      signal: o.signal,
      onBatch: o.onBatch,
    });
    const ids = items.map((_, i) => `${c.label}-${i}`);
    const verdicts = await judgeAll(
      o.judge,
      items.map((p, i) => ({ id: ids[i], prompt: p.instruction, completion: completions[i] })),
      o.signal,
    );
    const records: AttackCompletion[] = items.map((p, i) => ({
      id: ids[i],
      goal: p.instruction,
      category: p.category,
      completion: completions[i],
      refusal: verdicts[i].refusal,
      ...(verdicts[i].harmful !== undefined ? { harmful: verdicts[i].harmful } : {}),
    }));
    const n = records.length;
    const refusals = records.filter((r) => r.refusal).length;
    const rated = records.every((r) => r.harmful !== undefined);
    out.push({
      label: c.label,
      attackSuccess: wilson(n - refusals, n),
      refusal: wilson(refusals, n),
      ...(rated ? { harmful: wilson(records.filter((r) => r.harmful).length, n) } : {}),
      completions: records,
    });
  }
  return out;
}
