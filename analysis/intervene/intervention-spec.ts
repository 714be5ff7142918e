/** Builds the hooks of an evaluation's intervention (none, directional ablation, or activation addition). */
import { UsageError } from '../../engine/errors.ts';
import type { Hook, Model } from '../../models/types.ts';
import { checkDirectionWidth, readDirection } from '../direction/direction-io.ts';
import { ablationHooks, additionHook } from '../interventions.ts';

export type InterventionSpec =
  | { kind: 'none' }
  | { kind: 'ablate'; direction: string }
  | { kind: 'add'; direction: string; coeff: number; layer?: number; promptOnly: boolean };

export interface Intervention {
  hooks: Hook[];
  /** What was applied, for reports. */
  describe: Record<string, unknown>;
}

export function buildIntervention(model: Model, spec: InterventionSpec): Intervention {
  if (spec.kind === 'none') return { hooks: [], describe: { kind: 'none' } };
  const d = readDirection(spec.direction);
  checkDirectionWidth(d, model.config.dModel, spec.direction);
  if (spec.kind === 'ablate')
    return { hooks: ablationHooks(d.r), describe: { kind: 'ablate', direction: spec.direction, pos: d.pos, layer: d.layer } };
  const layer = spec.layer ?? d.layer;
  if (!(Number.isInteger(layer) && layer >= 0 && layer < model.config.nLayers))
    throw new UsageError(`--layer: ${layer} is outside 0..${model.config.nLayers - 1}`);
  return {
    hooks: [additionHook(d.r, layer, { coeff: spec.coeff, promptOnly: spec.promptOnly })],
    describe: { kind: 'add', direction: spec.direction, pos: d.pos, layer, coeff: spec.coeff, promptOnly: spec.promptOnly },
  };
}
