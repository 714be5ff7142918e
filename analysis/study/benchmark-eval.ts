/**
 * The study's attack-success step (`study --benchmark FILE`): every model answers the benchmark's goals greedily, as
 * it is and with its own refusal direction ablated (Arditi et al. 2024's jailbreak), judged by the study's judge.
 * Goals that are train/val prompts of the original's direction are dropped first (held out, as every reported rate).
 */
import type { Model } from '../../models/types.ts';
import { type AttackConfig, type AttackOptions, attackSuccess } from '../eval/attack-success.ts';
import { ablationHooks } from '../interventions.ts';
import type { PromptItem } from '../prompts/prompts.ts';
import type { AttackSuccessSummary } from './summary.ts';

/** Goals that selected nothing: not among the direction's train/val prompts (compared by trimmed text). */
export function heldOutGoals(
  goals: readonly PromptItem[],
  splits: { harmfulTrain: PromptItem[]; harmlessTrain: PromptItem[]; harmfulVal: PromptItem[]; harmlessVal: PromptItem[] },
): { kept: PromptItem[]; dropped: number } {
  const used = new Set(
    [...splits.harmfulTrain, ...splits.harmlessTrain, ...splits.harmfulVal, ...splits.harmlessVal].map((p) => p.instruction.trim()),
  );
  const kept = goals.filter((g) => !used.has(g.instruction.trim()));
  return { kept, dropped: goals.length - kept.length };
}

export async function attackSuccessOf(
  model: Model,
  goals: readonly PromptItem[],
  direction: ArrayLike<number> | null,
  o: AttackOptions,
): Promise<AttackSuccessSummary> {
  const configs: AttackConfig[] = [{ label: 'baseline' }];
  if (direction) configs.push({ label: 'ablated', hooks: ablationHooks(direction) });
  const [base, abl] = await attackSuccess(model, goals, configs, o);
  const out: AttackSuccessSummary = { baseline: base.attackSuccess, ...(abl ? { ablated: abl.attackSuccess } : {}) };
  if (base.harmful) out.harmful = { baseline: base.harmful, ...(abl?.harmful ? { ablated: abl.harmful } : {}) };
  return out;
}
