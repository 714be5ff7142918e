/**
 * What the checkpoint converters share: the raw-tensor argument type, shape checks that name the tensor,
 * LSB-first bit fields, and turning a g_idx (group of each input channel) into our contiguous-group `perm`.
 */
import { ModelFolderError } from '../errors.ts';

/** One tensor as read from a checkpoint: elements (scales already widened to f32) and its shape. */
export interface RawTensor<T> {
  data: T;
  shape: number[];
}

export function formatError(module: string, tensor: string, problem: string): ModelFolderError {
  return new ModelFolderError(`${module}.${tensor}: ${problem}`);
}

/** Checks rank, dims (null = any) and element count; returns the shape. */
export function expectShape(module: string, tensor: string, t: RawTensor<ArrayLike<unknown>>, want: Array<number | null>): number[] {
  const s = t.shape;
  const ok = s.length === want.length && want.every((d, i) => d === null || d === s[i]);
  if (!ok) throw formatError(module, tensor, `shape [${s.join(', ')}], expected [${want.map((d) => d ?? '?').join(', ')}]`);
  const count = s.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) throw formatError(module, tensor, `${t.data.length} elements for shape [${s.join(', ')}]`);
  return s;
}

/** Field i of `bits` width in a 32-bit word, least significant first. */
export const bitField = (word: number, bits: number, i: number): number => (word >>> (bits * i)) & ((1 << bits) - 1);

/** An I64 or I32 integer vector as plain numbers (compressed-tensors `weight_shape` comes in both). */
export function intVector(module: string, tensor: string, t: RawTensor<BigInt64Array | Int32Array>): number[] {
  if (t.shape.length !== 1) throw formatError(module, tensor, `rank ${t.shape.length}, expected a vector`);
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/**
 * Our layouts need each group's input channels contiguous. Given g_idx (group of channel k), returns null
 * when g_idx[k] = floor(k / G) already, else the stable sort of k by g_idx as `perm` (stored column j holds
 * input channel perm[j]). Throws unless every group but the last has exactly G members, since then stored
 * column j is in group floor(j / G) as the layouts require (true for GPTQ act-order, where g_idx[perm[j]]
 * = floor(j / G) by construction).
 */
export function groupPermutation(module: string, tensor: string, gIdx: Int32Array, groupSize: number, groups: number): Int32Array | null {
  const k = gIdx.length;
  let identity = true;
  for (let c = 0; c < k; c++) {
    const g = gIdx[c];
    if (!(g >= 0 && g < groups)) throw formatError(module, tensor, `group ${g} at channel ${c} outside 0..${groups - 1}`);
    if (g !== Math.floor(c / groupSize)) identity = false;
  }
  if (identity) return null;
  const counts = new Int32Array(groups);
  for (let c = 0; c < k; c++) counts[gIdx[c]]++;
  const start = new Int32Array(groups);
  for (let g = 1; g < groups; g++) start[g] = start[g - 1] + counts[g - 1];
  for (let g = 0; g < groups; g++) {
    const want = Math.min(groupSize, k - g * groupSize);
    if (counts[g] !== want)
      throw formatError(
        module,
        tensor,
        `group ${g} has ${counts[g]} channels, expected ${want} (group size ${groupSize}); uneven groups are not supported`,
      );
  }
  // Counting sort by group is the stable sort (channels keep ascending order within a group).
  const perm = new Int32Array(k);
  const next = start.slice();
  for (let c = 0; c < k; c++) perm[next[gIdx[c]]++] = c;
  return perm;
}
