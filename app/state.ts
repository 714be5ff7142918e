/** What the views share: the engine API, the current refusal direction, and whether a compressed copy exists. */
import type { GlassboxApi, ModelInfo } from './protocol.ts';
import harmful from '../data/prompts/harmful.json';
import harmless from '../data/prompts/harmless.json';

export interface AppState {
  api: GlassboxApi;
  info: ModelInfo | null;
  /** Raw (not unit) direction per layer, and which layer the interventions use. */
  directions: number[][] | null;
  layer: number;
  directionSource: string;
  /** A single direction loaded from a study folder (used at every layer). */
  loaded: number[] | null;
  compressed: string | null;
  onChange: Array<() => void>;
}

/** Prompts the in-tab direction is computed from: the project's own lists (data/prompts), first 16 of each. */
export const HARMFUL = (harmful as Array<{ instruction: string }>).slice(0, 16).map((x) => x.instruction);
export const HARMLESS = (harmless as Array<{ instruction: string }>).slice(0, 16).map((x) => x.instruction);

/** The direction the interventions use: a loaded one, else the computed one at the chosen layer (computed on demand). */
export async function currentDirection(s: AppState): Promise<number[]> {
  if (s.loaded) return s.loaded;
  await ensureDirections(s);
  return s.directions![s.layer];
}

export async function ensureDirections(s: AppState): Promise<number[][]> {
  if (!s.directions) {
    s.directions = await s.api.directions({ harmful: HARMFUL, harmless: HARMLESS });
    s.layer = s.directions.length - 1;
    s.directionSource = `diff-in-means, last position, ${HARMFUL.length}+${HARMLESS.length} prompts (data/prompts)`;
    for (const f of s.onChange) f();
  }
  return s.directions;
}
