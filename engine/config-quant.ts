/**
 * `quantization_config` -> QuantizationConfig for the pre-quantized checkpoint formats the engine loads:
 * GPTQ (AutoGPTQ / GPTQModel), AWQ GEMM (AutoAWQ), compressed-tensors (llm-compressor) integer weights,
 * and our own `glassbox` format. Field meanings: ../shared/docs/quant-formats.md.
 */
import { ConfigError } from './errors.ts';
import type { QuantizationConfig } from './types.ts';
import { fieldReader, type FieldReader } from './config-fields.ts';

const METHODS = ['gptq', 'awq', 'compressed-tensors', 'glassbox'] as const;
const CT_FORMATS = ['pack-quantized', 'int-quantized', 'naive-quantized'];

export function parseQuantization(raw: unknown, file: string): QuantizationConfig {
  const where = `${file}: quantization_config`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${where}: expected an object`);
  const obj = raw as Record<string, unknown>;
  const f = fieldReader(obj, where);
  const method = f.str('quant_method');
  switch (method) {
    case 'gptq':
      return gptq(f, obj);
    case 'awq':
      return awq(f, obj);
    case 'compressed-tensors':
      return compressedTensors(f, obj);
    case 'glassbox':
      return {
        method: 'glassbox',
        bits: bits(f, 'bits', [4, 8]),
        groupSize: groupSize(f, 'group_size'),
        sym: f.bool('sym', true),
        descAct: false,
        notConverted: [],
        raw: obj,
      };
    default:
      throw new ConfigError(`${where}: unsupported quant_method "${method}" (supported: ${METHODS.join(', ')})`);
  }
}

function bits(f: FieldReader, key: string, allowed: number[]): number {
  const b = f.posInt(key);
  if (!allowed.includes(b)) throw new ConfigError(`${f.file}: unsupported ${key} ${b} (supported: ${allowed.join(', ')})`);
  return b;
}

/** A positive group size, or -1 for one group spanning all of K. */
function groupSize(f: FieldReader, key: string, dflt?: number): number {
  const g = f.int(key, dflt);
  if (g !== -1 && g <= 0) throw new ConfigError(`${f.file}: field ${key} must be positive or -1, got ${g}`);
  return g;
}

function gptq(f: FieldReader, obj: Record<string, unknown>): QuantizationConfig {
  const checkpointFormat = f.str('checkpoint_format', 'gptq') as string;
  if (checkpointFormat !== 'gptq' && checkpointFormat !== 'gptq_v2') {
    throw new ConfigError(`${f.file}: unsupported checkpoint_format "${checkpointFormat}" (supported: gptq, gptq_v2)`);
  }
  return {
    method: 'gptq',
    // GPTQ packs 2/3/4/8-bit; 3-bit straddles 32-bit words and no kernel here runs it.
    bits: bits(f, 'bits', [2, 4, 8]),
    groupSize: groupSize(f, 'group_size', 128),
    sym: f.bool('sym', true),
    descAct: f.bool('desc_act', false),
    checkpointFormat,
    notConverted: f.strList('modules_to_not_convert'),
    raw: obj,
  };
}

function awq(f: FieldReader, obj: Record<string, unknown>): QuantizationConfig {
  // transformers' AwqConfig spells them bits/group_size/zero_point; AutoAWQ's quant_config w_bit/q_group_size.
  const bitsKey = 'bits' in obj ? 'bits' : 'w_bit';
  const groupKey = 'group_size' in obj ? 'group_size' : 'q_group_size';
  const version = (f.str('version', 'gemm') as string).toLowerCase();
  if (version !== 'gemm') {
    throw new ConfigError(`${f.file}: unsupported AWQ version "${version}" (supported: gemm)`);
  }
  return {
    method: 'awq',
    bits: bits(f, bitsKey, [4]),
    groupSize: groupSize(f, groupKey, 128),
    sym: !f.bool('zero_point', true),
    descAct: false,
    notConverted: f.strList('modules_to_not_convert'),
    raw: obj,
  };
}

function compressedTensors(f: FieldReader, obj: Record<string, unknown>): QuantizationConfig {
  const format = f.str('format') as string;
  if (!CT_FORMATS.includes(format)) {
    throw new ConfigError(`${f.file}: unsupported compressed-tensors format "${format}" (supported: ${CT_FORMATS.join(', ')})`);
  }
  const groups = obj.config_groups;
  if (typeof groups !== 'object' || groups === null || Object.keys(groups).length === 0) {
    throw new ConfigError(`${f.file}: missing field config_groups`);
  }
  const schemes = Object.entries(groups as Record<string, unknown>).map(([name, g]) => weightScheme(f.file, name, g));
  const first = schemes[0];
  const differs = schemes.find((s) => s.bits !== first.bits || s.groupSize !== first.groupSize || s.sym !== first.sym);
  if (differs) {
    throw new ConfigError(
      `${f.file}: config_groups.${differs.name} differs from config_groups.${first.name} (one weight scheme supported)`,
    );
  }
  return {
    method: 'compressed-tensors',
    bits: first.bits,
    groupSize: first.groupSize,
    sym: first.sym,
    descAct: first.actOrder,
    notConverted: f.strList('ignore'),
    raw: obj,
  };
}

function weightScheme(file: string, name: string, group: unknown) {
  const where = `${file}.config_groups.${name}.weights`;
  const weights = (group as Record<string, unknown> | null)?.weights;
  if (typeof weights !== 'object' || weights === null) throw new ConfigError(`${file}: missing field config_groups.${name}.weights`);
  const w = fieldReader(weights as Record<string, unknown>, where);
  const type = w.str('type', 'int');
  if (type !== 'int') throw new ConfigError(`${where}: unsupported type "${type}" (supported: int)`);
  const strategy = w.str('strategy', 'group');
  let groupSize: number;
  if (strategy === 'group') groupSize = w.posInt('group_size');
  else if (strategy === 'channel')
    groupSize = -1; // one scale per output row = one group spanning K
  else throw new ConfigError(`${where}: unsupported strategy "${strategy}" (supported: group, channel)`);
  const actorder = (weights as Record<string, unknown>).actorder;
  return {
    name,
    bits: bits(w, 'num_bits', [4, 8]),
    groupSize,
    sym: w.bool('symmetric', true),
    actOrder: actorder !== null && actorder !== undefined && actorder !== false,
  };
}
