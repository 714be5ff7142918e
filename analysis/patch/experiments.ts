import type { PatchTarget } from '../interventions.ts';

/**
 * The list of single patches an activation-patching sweep runs (patching.ts turns them into `patch` hooks).
 *   patchExperiments(sites, nLayers, nPos, nHeads): Experiment[]
 */
export type PatchSite = 'resid_pre' | 'attn_out' | 'mlp_out' | 'heads';
export const PATCH_SITES: readonly PatchSite[] = ['resid_pre', 'attn_out', 'mlp_out', 'heads'];

export interface Experiment {
  site: PatchSite;
  layer: number;
  /** resid_pre: the one position patched (undefined: every position). */
  pos?: number;
  /** heads: the head whose hook_z slice is patched (every position). */
  head?: number;
}

export function hookOf(e: Experiment): string {
  const b = `blocks.${e.layer}`;
  if (e.site === 'resid_pre') return `${b}.hook_resid_pre`;
  if (e.site === 'attn_out') return `${b}.hook_attn_out`;
  if (e.site === 'mlp_out') return `${b}.hook_mlp_out`;
  return `${b}.attn.hook_z`;
}

export function patchExperiments(sites: readonly PatchSite[], nLayers: number, nPos: number, nHeads: number): Experiment[] {
  const out: Experiment[] = [];
  for (const site of sites)
    for (let layer = 0; layer < nLayers; layer++) {
      if (site === 'resid_pre') for (let pos = 0; pos < nPos; pos++) out.push({ site, layer, pos });
      else if (site === 'heads') for (let head = 0; head < nHeads; head++) out.push({ site, layer, head });
      else out.push({ site, layer });
    }
  return out;
}

/**
 * The `patch` hook targets of experiment `e` applied to batch row `row` of a run of T positions, from a source run
 * cached as [1, T, width] (its row for position p is p): one position (resid_pre), every position (attn_out, mlp_out),
 * or one head's headDim columns of hook_z at every position (heads: `cols` = headDim; otherwise whole rows).
 */
export function experimentTargets(e: Experiment, row: number, T: number, headDim: number): { targets: PatchTarget[]; cols: number | null } {
  const positions = e.site === 'resid_pre' && e.pos !== undefined ? [e.pos] : Array.from({ length: T }, (_, p) => p);
  const col = e.site === 'heads' ? e.head! * headDim : 0;
  return { targets: positions.map((pos) => ({ row, pos, srcRow: pos, col })), cols: e.site === 'heads' ? headDim : null };
}
