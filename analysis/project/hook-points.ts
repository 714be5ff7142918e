/**
 * The block hook points whose activations are d_model wide, so a residual-space direction can be projected on them.
 *   PROJECTABLE: the short names (block-relative, TransformerLens spelling).
 *   parseProjectionHooks(list, flag): short names — accepts `hook_resid_pre` or `blocks.*.hook_resid_pre`.
 */
import { UsageError } from '../../engine/errors.ts';

export const PROJECTABLE = [
  'hook_resid_pre',
  'ln1.hook_normalized',
  'hook_attn_out',
  'hook_resid_mid',
  'ln2.hook_normalized',
  'hook_mlp_out',
  'hook_resid_post',
] as const;

export type ProjectableHook = (typeof PROJECTABLE)[number];

export function parseProjectionHooks(list: readonly string[], flag = 'hooks'): ProjectableHook[] {
  const out: ProjectableHook[] = [];
  for (const raw of list) {
    const name = raw.trim().replace(/^blocks\.\*\./, '');
    if (!(PROJECTABLE as readonly string[]).includes(name))
      throw new UsageError(`${flag}: '${raw}' is not a d_model-wide block hook point (use ${PROJECTABLE.join(', ')})`);
    if (!out.includes(name as ProjectableHook)) out.push(name as ProjectableHook);
  }
  if (out.length === 0) throw new UsageError(`${flag}: no hook point given`);
  return out;
}
