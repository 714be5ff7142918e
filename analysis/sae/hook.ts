/**
 * An SAE as a model hook at its hook point.
 *   saeHook(sae, { mode, onActs }): Hook
 *     mode 'read' leaves the activation unchanged; 'replace' substitutes the reconstruction x̂ (splicing the SAE in).
 *     onActs(acts [rows, d_sae], x [rows, d_in], recon [rows, d_in], ctx) sees every call (prompt and generated tokens).
 * The hook point's width must equal d_in (hook_z SAEs see the flattened n_heads·d_head activation, as SAELens'
 * hook_z reshaping produces).
 */
import { UsageError } from '../../engine/errors.ts';
import type { Hook, HookContext } from '../../models/types.ts';
import { decode, encode, type Sae } from './sae.ts';

export interface SaeHookOptions {
  mode: 'read' | 'replace';
  onActs?: (acts: Float32Array, x: Float32Array, recon: Float32Array, ctx: HookContext) => void;
}

export function saeHook(sae: Sae, opts: SaeHookOptions): Hook {
  return {
    name: sae.cfg.hookName,
    fn: (act, ctx) => {
      const rows = ctx.batch * ctx.pos;
      if (act.length !== rows * sae.cfg.dIn)
        throw new UsageError(`SAE at ${ctx.name}: the activation is ${act.length / rows} wide, the SAE's d_in is ${sae.cfg.dIn}`);
      const { acts, state } = encode(sae, act, rows);
      const recon = decode(sae, acts, rows, state);
      opts.onActs?.(acts, act.slice(), recon, ctx);
      return opts.mode === 'replace' ? recon : undefined;
    },
  };
}

/** The SAE's hook point must exist in the model (else its hook would silently never fire). */
export function checkSaeHook(sae: Sae, hookNames: readonly string[], source: string): void {
  if (!hookNames.includes(sae.cfg.hookName))
    throw new UsageError(`${source}: hook_name '${sae.cfg.hookName}' is not a hook point of this model (e.g. ${hookNames[1]})`);
}
