/**
 * The family registry, keyed by config.json `model_type`. Adding a family: one descriptor file (like llama.ts),
 * one line here, and its rows in the config and name tables (engine/config.ts, engine/names.ts, the Family type).
 */
import { ConfigError } from '../engine/errors.ts';
import type { Family, ModelConfig } from '../engine/types.ts';
import type { FamilyDescriptor } from './family.ts';
import { GPT2_FAMILY } from './gpt2.ts';
import { LLAMA_FAMILY } from './llama.ts';

export const FAMILY_DESCRIPTORS: readonly FamilyDescriptor[] = [LLAMA_FAMILY, GPT2_FAMILY];

const REGISTRY = new Map<string, FamilyDescriptor>(FAMILY_DESCRIPTORS.flatMap((d) => d.modelTypes.map((t) => [t, d] as const)));

/** The descriptor serving a model_type (config.family is already one of the supported types). */
export function familyDescriptor(modelType: Family): FamilyDescriptor {
  const d = REGISTRY.get(modelType);
  if (!d) throw new ConfigError(`model_type "${modelType}" has no family descriptor in models/families.ts`);
  return d;
}

export const familyOf = (config: ModelConfig): FamilyDescriptor => familyDescriptor(config.family);
