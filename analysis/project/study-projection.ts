/**
 * The study report's projection heatmap data: one prompt's resid_pre · r̂ (the original model's direction) per
 * layer and token, for the original and for each compressed model.
 *   projectionProbe(model, instruction, direction): Promise<ProjectionComparison> — starts the comparison (original).
 *   addProjection(c, name, model, direction): Promise<void> — appends one more model, same prompt and direction.
 */
import type { Model } from '../../models/types.ts';
import { projectDirection } from './projection.ts';

export interface ProjectionComparison {
  prompt: string;
  tokens: string[];
  hook: string;
  models: { name: string; values: number[][] }[];
}

export async function projectionProbe(model: Model, instruction: string, direction: Float32Array): Promise<ProjectionComparison> {
  const ids = model.tokenizer!.encodeChat(instruction);
  const r = await projectDirection(model, ids, direction, { hooks: ['hook_resid_pre'] });
  return { prompt: instruction, tokens: r.tokens, hook: 'hook_resid_pre', models: [{ name: 'original', values: r.hooks.hook_resid_pre }] };
}

export async function addProjection(c: ProjectionComparison, name: string, model: Model, direction: Float32Array): Promise<void> {
  const ids = model.tokenizer!.encodeChat(c.prompt);
  const r = await projectDirection(model, ids, direction, { hooks: ['hook_resid_pre'] });
  c.models.push({ name, values: r.hooks.hook_resid_pre });
}
