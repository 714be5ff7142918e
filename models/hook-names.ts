/** TransformerLens hook point names, in firing order, and glob matching over them. */

/** Names of one block's hook points in firing order. */
export function blockHookNames(l: number): string[] {
  const b = `blocks.${l}`;
  return [
    `${b}.hook_resid_pre`,
    `${b}.ln1.hook_normalized`,
    `${b}.attn.hook_pattern`,
    `${b}.attn.hook_z`,
    `${b}.hook_attn_out`,
    `${b}.hook_resid_mid`,
    `${b}.ln2.hook_normalized`,
    `${b}.mlp.hook_post`,
    `${b}.hook_mlp_out`,
    `${b}.hook_resid_post`,
  ];
}

export function allHookNames(nLayers: number, posEmbed: boolean): string[] {
  const names = ['hook_embed'];
  if (posEmbed) names.push('hook_pos_embed');
  for (let l = 0; l < nLayers; l++) names.push(...blockHookNames(l));
  names.push('ln_final.hook_normalized');
  return names;
}

/**
 * Glob -> RegExp. `*` matches one or more characters within a dot-separated segment, `**` any run
 * (dots included), so `blocks.*.hook_resid_pre` hits every layer and `blocks.3.**` one whole block.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^.]+';
    } else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function matchesAny(name: string, globs: RegExp[]): boolean {
  for (const g of globs) if (g.test(name)) return true;
  return false;
}
