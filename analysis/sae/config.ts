/**
 * SAELens `cfg.json`, validated into the fields inference needs (pre-6.0 and 6.x spellings).
 *   parseSaeConfig(json: unknown, file: string): SaeConfig — ConfigError naming the file and the field otherwise.
 *
 * Read: d_in, d_sae; the hook from `hook_name` / `hook_point` / `metadata.hook_name`; the activation from
 * `architecture` (standard | topk | jumprelu) or the older `activation_fn_str` / `activation_fn` (relu | topk), with k
 * from `k` or `activation_fn_kwargs.k`; `apply_b_dec_to_input` (default true, as SAELens); `normalize_activations`
 * none | expected_average_only_in (an identity at inference: SAELens folds its factor into the weights) |
 * constant_norm_rescale | layer_norm (a legacy boolean means none / expected_average_only_in). Gated SAEs, head-index
 * hooks and `reshape_activations` other than none/hook_z are refused by name.
 */
import { ConfigError } from '../../engine/errors.ts';

export type SaeActivation = { kind: 'relu' } | { kind: 'topk'; k: number } | { kind: 'jumprelu' };
export type SaeNormalization = 'none' | 'expected_average_only_in' | 'constant_norm_rescale' | 'layer_norm';

export interface SaeConfig {
  dIn: number;
  dSae: number;
  hookName: string;
  activation: SaeActivation;
  applyBDecToInput: boolean;
  normalization: SaeNormalization;
}

const NORMS: readonly SaeNormalization[] = ['none', 'expected_average_only_in', 'constant_norm_rescale', 'layer_norm'];

export function parseSaeConfig(json: unknown, file: string): SaeConfig {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(`${file}: expected a JSON object`);
  const c = json as Record<string, unknown>;
  const meta = (c.metadata ?? c.meta) as Record<string, unknown> | undefined;
  const posInt = (key: string): number => {
    const v = c[key];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1))
      throw new ConfigError(`${file}: field ${key} must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const dIn = posInt('d_in');
  const dSae = posInt('d_sae');
  const hookName = c.hook_name ?? c.hook_point ?? meta?.hook_name;
  if (typeof hookName !== 'string' || hookName === '') throw new ConfigError(`${file}: field hook_name (or metadata.hook_name) is missing`);
  const head = c.hook_head_index ?? c.hook_point_head_index ?? meta?.hook_head_index;
  if (head !== undefined && head !== null)
    throw new ConfigError(`${file}: field hook_head_index ${JSON.stringify(head)}: single-head SAEs are not supported`);
  const reshape = c.reshape_activations;
  if (reshape !== undefined && reshape !== 'none' && reshape !== 'hook_z')
    throw new ConfigError(`${file}: field reshape_activations ${JSON.stringify(reshape)} is not none or hook_z`);
  const applyB = c.apply_b_dec_to_input ?? true;
  if (typeof applyB !== 'boolean')
    throw new ConfigError(`${file}: field apply_b_dec_to_input must be true or false, got ${JSON.stringify(applyB)}`);
  let norm = c.normalize_activations ?? 'none';
  if (typeof norm === 'boolean') norm = norm ? 'expected_average_only_in' : 'none';
  if (!(NORMS as readonly unknown[]).includes(norm))
    throw new ConfigError(`${file}: field normalize_activations ${JSON.stringify(norm)} is not one of ${NORMS.join(', ')}`);
  const activation = activationOf(c, file, dSae);
  return { dIn, dSae, hookName, activation, applyBDecToInput: applyB, normalization: norm as SaeNormalization };
}

function activationOf(c: Record<string, unknown>, file: string, dSae: number): SaeActivation {
  const arch = c.architecture;
  const fn = c.activation_fn_str ?? c.activation_fn;
  let kind: string;
  if (arch !== undefined && arch !== 'standard') kind = String(arch);
  else kind = fn === undefined ? 'relu' : String(fn);
  if (kind === 'jumprelu') return { kind };
  if (kind === 'relu') return { kind };
  if (kind === 'topk') {
    const kwargs = c.activation_fn_kwargs as Record<string, unknown> | undefined;
    const k = c.k ?? kwargs?.k;
    if (!(typeof k === 'number' && Number.isInteger(k) && k >= 1 && k <= dSae))
      throw new ConfigError(
        `${file}: field k (or activation_fn_kwargs.k) must be an integer in 1..${dSae} for a topk SAE, ` + `got ${JSON.stringify(k)}`,
      );
    return { kind, k };
  }
  const field = arch !== undefined && arch !== 'standard' ? 'architecture' : 'activation_fn';
  throw new ConfigError(`${file}: field ${field} ${JSON.stringify(kind)} is not supported (standard/relu, topk, jumprelu)`);
}
