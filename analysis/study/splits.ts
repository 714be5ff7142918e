/**
 * summary.json's `splits`: which prompts selected (train: the direction's means; val: candidate and AIRD-block
 * selection) and which were evaluated (test), as indices into the files they came from, so anyone can check
 * that no reported number was measured on a prompt that selected anything.
 */
import type { HeldOutSplits } from '../direction/direction-pipeline.ts';
import type { PromptItem } from '../prompts/prompts.ts';
import type { StudyInputs } from './run-study.ts';
import type { SplitIndices, StudySplits } from './summary.ts';

function indicesIn(file: string, list: readonly PromptItem[], items: readonly PromptItem[]): SplitIndices {
  const at = new Map(list.map((p, i) => [p, i]));
  // Sampling copies references, so identity finds each item; text is the fallback for re-created items.
  const byText = new Map(list.map((p, i) => [p.instruction, i]));
  return { file, indices: items.map((p) => at.get(p) ?? byText.get(p.instruction) ?? -1) };
}

/** Splits as sampled (before the refusal-score filter: the selecting prompts are a subset of train and val). */
export function studySplits(inp: StudyInputs, s: HeldOutSplits): StudySplits {
  const f = inp.files ?? { harmful: 'harmful', harmless: 'harmless' };
  const side = (
    list: PromptItem[],
    testList: PromptItem[] | undefined,
    file: string,
    testFile: string | undefined,
    tr: PromptItem[],
    va: PromptItem[],
    te: PromptItem[],
  ) => ({
    train: indicesIn(file, list, tr),
    val: indicesIn(file, list, va),
    test: testList ? indicesIn(testFile ?? 'eval', testList, te) : indicesIn(file, list, te),
  });
  const text = (xs: PromptItem[]) => new Set(xs.map((p) => p.instruction.trim()));
  const sel = text([...s.harmfulTrain, ...s.harmfulVal, ...s.harmlessTrain, ...s.harmlessVal]);
  const disjoint = [...s.harmfulTest, ...s.harmlessTest].every((p) => !sel.has(p.instruction.trim()));
  return {
    harmful: side(inp.harmful, inp.harmfulTest, f.harmful, f.harmfulTest, s.harmfulTrain, s.harmfulVal, s.harmfulTest),
    harmless: side(inp.harmless, inp.harmlessTest, f.harmless, f.harmlessTest, s.harmlessTrain, s.harmlessVal, s.harmlessTest),
    disjoint,
  };
}
