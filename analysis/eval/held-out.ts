/**
 * Held-out evaluation for `eval --ablate/--add DIR`: the prompts that selected the direction (train: its means;
 * val: candidate selection), listed in DIR/splits.json by `glassbox direction`, are dropped from the evaluated
 * prompts, so an ablation's refusal rate is never measured on a prompt that chose the direction.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../engine/errors.ts';
import type { PromptItem } from '../prompts/prompts.ts';

const SELECTING = ['harmfulTrain', 'harmlessTrain', 'harmfulVal', 'harmlessVal'] as const;

/** The instruction texts of DIR/splits.json's selection splits, or null when DIR has no splits.json. */
export function selectionPrompts(dir: string): Set<string> | null {
  const file = path.join(dir, 'splits.json');
  if (!fs.existsSync(file)) return null;
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file}: invalid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const out = new Set<string>();
  for (const k of SELECTING) {
    const xs = data[k];
    if (!Array.isArray(xs)) throw new UsageError(`${file}: field ${k} is not a list of prompts`);
    for (const x of xs) if (x && typeof (x as PromptItem).instruction === 'string') out.add((x as PromptItem).instruction.trim());
  }
  return out;
}

/** Items whose instruction is not among the selection prompts, and how many were dropped. */
export function withoutSelectionPrompts(items: readonly PromptItem[], selection: Set<string>): { kept: PromptItem[]; dropped: number } {
  const kept = items.filter((p) => !selection.has(p.instruction.trim()));
  return { kept, dropped: items.length - kept.length };
}
