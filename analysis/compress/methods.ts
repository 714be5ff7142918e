/** The `--methods` names (docs/clarifications.md) parsed into typed method specs. */
import { UsageError } from '../../engine/errors.ts';

export type MethodSpec =
  | { name: string; family: 'int8'; bits: 8 }
  | { name: string; family: 'llm-int8'; bits: 8; threshold: number }
  | { name: string; family: 'int8-outlier-cols'; bits: 8; threshold: number }
  | { name: string; family: 'int4-rtn'; bits: 4; groupSize: number }
  | { name: string; family: 'gptq'; bits: 4; groupSize: number; actOrder: boolean }
  | { name: string; family: 'awq'; bits: 4; groupSize: number }
  | { name: string; family: 'magnitude'; sparsity: number }
  | { name: string; family: 'wanda'; sparsity: number; nm: { n: number; m: number } | null }
  | { name: string; family: 'sparsegpt'; sparsity: number; nm: { n: number; m: number } | null };

export const METHOD_NAMES = [
  'int8',
  'llm-int8',
  'int8-outlier-cols',
  'int4-g32',
  'int4-g64',
  'int4-g128',
  'gptq4',
  'gptq4-act',
  'awq4',
  'magnitude-50',
  'wanda-50',
  'wanda-2:4',
  'wanda-4:8',
  'sparsegpt-50',
  'sparsegpt-2:4',
] as const;

/** Parses one method name; pruning methods accept any percentage 1..99 or N:M, not only the listed ones. */
export function parseMethod(name: string): MethodSpec {
  const n = name.trim();
  if (n === 'int8') return { name: n, family: 'int8', bits: 8 };
  // LLM.int8(): W8A8 with run-time outlier columns (kernels/w8a8). The first wave's weight-only variant with outlier
  // columns fixed at calibration time keeps a name of its own.
  if (n === 'llm-int8') return { name: n, family: 'llm-int8', bits: 8, threshold: 6.0 };
  if (n === 'int8-outlier-cols') return { name: n, family: 'int8-outlier-cols', bits: 8, threshold: 6.0 };
  let m = /^int4-g(\d+)$/.exec(n);
  if (m) {
    if (Number(m[1]) < 1) throw new UsageError(`--methods: "${name}" needs a group size of at least 1`);
    return { name: n, family: 'int4-rtn', bits: 4, groupSize: Number(m[1]) };
  }
  if (n === 'gptq4') return { name: n, family: 'gptq', bits: 4, groupSize: 128, actOrder: false };
  if (n === 'gptq4-act') return { name: n, family: 'gptq', bits: 4, groupSize: 128, actOrder: true };
  if (n === 'awq4') return { name: n, family: 'awq', bits: 4, groupSize: 128 };
  m = /^(magnitude|wanda|sparsegpt)-(?:(\d+):(\d+)|(\d+))$/.exec(n);
  if (m) {
    const fam = m[1] as 'magnitude' | 'wanda' | 'sparsegpt';
    if (m[4] !== undefined) {
      const pct = Number(m[4]);
      if (pct >= 1 && pct <= 99) {
        const sparsity = pct / 100;
        return fam === 'magnitude' ? { name: n, family: fam, sparsity } : { name: n, family: fam, sparsity, nm: null };
      }
    } else if (fam !== 'magnitude') {
      const a = Number(m[2]);
      const b = Number(m[3]);
      if (a > 0 && a < b) return { name: n, family: fam, sparsity: a / b, nm: { n: a, m: b } };
    }
  }
  throw new UsageError(`--methods: unknown method "${name}" (known: ${METHOD_NAMES.join(', ')})`);
}

export function parseMethods(list: string): MethodSpec[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UsageError('--methods: empty list');
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new UsageError(`--methods: "${dup}" is listed twice`);
  return names.map(parseMethod);
}

/** Bits per weight of a quantization method, undefined for pruning. */
export const methodBits = (m: MethodSpec): number | undefined => ('bits' in m ? m.bits : undefined);
export const isPruning = (m: MethodSpec): boolean => m.family === 'magnitude' || m.family === 'wanda' || m.family === 'sparsegpt';
