/**
 * Scalar projections of the residual stream (and the other d_model-wide hook points) onto a direction.
 *
 *   projectDirection(model, ids, direction, opts?): Promise<ProjectionResult>
 *     value[hook][layer][position] = act · r̂, r̂ = direction / ‖direction‖ (float64 dot product).
 *     opts.hooks: short names from hook-points.ts (default: all of them).
 *   projectDuringGeneration(model, ids, direction, opts?): Promise<GenerationProjection>
 *     the same during greedy/sampled KV-cached generation: positions are the prompt tokens, then every generated
 *     token that was fed back (when generation stops at maxNewTokens the last sampled token is never run, so it has
 *     no column).
 *   projectionRow(act, width, rUnit, rows): number[] — one value per row.
 */
import { UsageError } from '../../engine/errors.ts';
import type { GenerateOptions, Hook, Model } from '../../models/types.ts';
import { tokenLabels } from '../token-labels.ts';
import { PROJECTABLE, type ProjectableHook } from './hook-points.ts';

export interface ProjectionOptions {
  hooks?: readonly ProjectableHook[];
}

export interface ProjectionResult {
  tokens: string[];
  ids: number[];
  /** ‖direction‖ (the projections are onto the unit vector). */
  directionNorm: number;
  /** hook short name -> [layer][position]. */
  hooks: Record<string, number[][]>;
}

export interface GenerationProjection extends ProjectionResult {
  promptLength: number;
  /** Every generated id (`ids`/`tokens` hold only the tokens that were run: all but the last one at maxNewTokens). */
  generatedIds: number[];
  generatedText: string;
}

export function unitDirection(direction: Float32Array, dModel: number): { unit: Float64Array; norm: number } {
  if (direction.length !== dModel) throw new UsageError(`direction has ${direction.length} values, the model's d_model is ${dModel}`);
  let ss = 0;
  for (const v of direction) ss += v * v;
  const norm = Math.sqrt(ss);
  if (!(norm > 0) || !Number.isFinite(norm)) throw new UsageError(`direction has norm ${norm}: cannot project onto it`);
  return { unit: Float64Array.from(direction, (v) => v / norm), norm };
}

export function projectionRow(act: Float32Array, width: number, rUnit: Float64Array, rows: number): number[] {
  const out = new Array<number>(rows);
  for (let p = 0; p < rows; p++) {
    let s = 0;
    for (let i = 0; i < width; i++) s += act[p * width + i] * rUnit[i];
    out[p] = s;
  }
  return out;
}

/** Hooks that append each call's per-position projections to grid[hook][layer]. */
function recordingHooks(names: readonly ProjectableHook[], nLayers: number, unit: Float64Array, d: number) {
  const grid: Record<string, number[][]> = {};
  for (const n of names) grid[n] = Array.from({ length: nLayers }, () => []);
  const hooks: Hook[] = names.map((n) => ({
    name: `blocks.*.${n}`,
    fn: (act, ctx) => {
      if (ctx.batch !== 1) throw new UsageError('projection: one prompt at a time');
      grid[n][ctx.layer!].push(...projectionRow(act, d, unit, ctx.pos));
    },
  }));
  return { grid, hooks };
}

export async function projectDirection(
  model: Model,
  ids: number[],
  direction: Float32Array,
  opts: ProjectionOptions = {},
): Promise<ProjectionResult> {
  const { nLayers, dModel } = model.config;
  const { unit, norm } = unitDirection(direction, dModel);
  if (ids.length === 0) throw new UsageError('projection: empty prompt');
  const { grid, hooks } = recordingHooks(opts.hooks ?? PROJECTABLE, nLayers, unit, dModel);
  await model.forward([ids], { hooks, logits: 'none' });
  return { tokens: tokenLabels(model, ids), ids: [...ids], directionNorm: norm, hooks: grid };
}

export async function projectDuringGeneration(
  model: Model,
  ids: number[],
  direction: Float32Array,
  opts: ProjectionOptions & Omit<GenerateOptions, 'hooks' | 'onToken'> = {},
): Promise<GenerationProjection> {
  const { nLayers, dModel } = model.config;
  const { unit, norm } = unitDirection(direction, dModel);
  if (ids.length === 0) throw new UsageError('projection: empty prompt');
  const { grid, hooks } = recordingHooks(opts.hooks ?? PROJECTABLE, nLayers, unit, dModel);
  const { hooks: _h, ...gen } = opts as GenerateOptions & ProjectionOptions;
  const r = await model.generate([ids], { ...gen, hooks });
  const generatedIds = r.tokens[0];
  // Ended by length, the last sampled token is never run; ended by a stop token, every kept token was run.
  // Either way the grid has one column per token that went through the model.
  const first = Object.values(grid)[0][0];
  const fed = [...ids, ...generatedIds].slice(0, first.length);
  const text = model.tokenizer ? model.tokenizer.decode(generatedIds, { skipSpecialTokens: true }) : generatedIds.join(' ');
  return {
    tokens: tokenLabels(model, fed),
    ids: fed,
    directionNorm: norm,
    hooks: grid,
    promptLength: ids.length,
    generatedIds,
    generatedText: text,
  };
}
