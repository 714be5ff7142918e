/** Left padding of a batch of prompts: the token grid, per-row padding, absolute positions and key mask. */
import { UsageError } from '../engine/errors.ts';

export interface PaddedBatch {
  batch: number;
  /** Padded length T. */
  len: number;
  /** [batch * len] ids, `padId` at padding. */
  ids: Int32Array;
  padding: number[];
  /** [batch * len]: position of each slot counted from the row's first real token; -1 at padding. */
  positions: Int32Array;
  /** keyValid per row, [len] each (1 = real token). */
  valid: Uint8Array[];
}

export function leftPad(prompts: number[][], padId: number, vocabSize: number): PaddedBatch {
  if (prompts.length === 0) throw new UsageError('forward: no prompts given');
  const len = Math.max(...prompts.map((p) => p.length));
  if (len === 0) throw new UsageError('forward: every prompt is empty (at least one token is needed)');
  const batch = prompts.length;
  const ids = new Int32Array(batch * len).fill(padId);
  const positions = new Int32Array(batch * len).fill(-1);
  const padding: number[] = [];
  const valid: Uint8Array[] = [];
  prompts.forEach((p, b) => {
    if (p.length === 0) throw new UsageError(`forward: prompt ${b} is empty`);
    const pad = len - p.length;
    padding.push(pad);
    const v = new Uint8Array(len);
    p.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
        throw new UsageError(`forward: prompt ${b} token ${i} is ${id}, outside the vocabulary 0..${vocabSize - 1}`);
      ids[b * len + pad + i] = id;
      positions[b * len + pad + i] = i;
      v[pad + i] = 1;
    });
    valid.push(v);
  });
  return { batch, len, ids, padding, positions, valid };
}
