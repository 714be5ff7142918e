/** What the views share: the engine API, the current refusal direction, and whether a compressed copy exists. */
import type { GlassboxApi, ModelInfo } from './protocol.ts';

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

/** How many prompts of each class the in-tab direction uses. */
export const N_PROMPTS = 16;

let lists: Promise<{ harmful: string[]; harmless: string[] }> | null = null;

/** The project's own prompt lists (data/prompts, copied next to the app by build:app), first N_PROMPTS of each. */
export function promptLists(): Promise<{ harmful: string[]; harmless: string[] }> {
  const get = async (name: string) => {
    const res = await fetch(new URL(`prompts/${name}.json`, location.href));
    if (!res.ok) throw new Error(`prompts/${name}.json: HTTP ${res.status}`);
    return ((await res.json()) as Array<{ instruction: string }>).slice(0, N_PROMPTS).map((x) => x.instruction);
  };
  lists ??= Promise.all([get('harmful'), get('harmless')]).then(([harmful, harmless]) => ({ harmful, harmless }));
  return lists;
}

/** The direction the interventions use: a loaded one, else the computed one at the chosen layer (computed on demand). */
export async function currentDirection(s: AppState): Promise<number[]> {
  if (s.loaded) return s.loaded;
  await ensureDirections(s);
  return s.directions![s.layer];
}

export async function ensureDirections(s: AppState): Promise<number[][]> {
  if (!s.directions) {
    s.directions = await s.api.directions(await promptLists());
    s.layer = s.directions.length - 1;
    s.directionSource = `diff-in-means, last position, ${N_PROMPTS}+${N_PROMPTS} prompts (data/prompts)`;
    for (const f of s.onChange) f();
  }
  return s.directions;
}
