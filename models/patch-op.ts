/**
 * Activation patching from a cached run (HookOp 'patch', models/types.ts): the host reference every backend's
 * `fn` runs, and the target check the device path (models/resident.ts) shares with it, so both refuse the
 * same bad targets with the same message.
 */
import type { PatchOp } from './types.ts';

/** Row width of `op`'s copies at an activation of width `width`. */
export const patchCols = (op: PatchOp, width: number): number => op.cols ?? width;

/**
 * Throws RangeError naming the hook and the target when a (row, pos, srcRow, col) quadruple falls outside the
 * activation [batch, t, width] or the source [srcRows, width].
 */
export function checkPatchTargets(op: PatchOp, hook: string, batch: number, t: number, width: number): void {
  const cols = patchCols(op, width);
  if (op.targets.length % 4 !== 0)
    throw new RangeError(`hook '${hook}': patch targets hold ${op.targets.length} values, not (row, pos, srcRow, col) quadruples`);
  if (op.source.length % width !== 0)
    throw new RangeError(`hook '${hook}': patch source has ${op.source.length} values, not a multiple of the activation width ${width}`);
  if (!(Number.isInteger(cols) && cols >= 1 && cols <= width))
    throw new RangeError(`hook '${hook}': patch columns ${cols} outside 1..${width}`);
  const srcRows = op.source.length / width;
  // targets writing the same element would make the result depend on write order (undefined on a GPU)
  const written = new Map<number, { col: number; i: number }[]>();
  for (let i = 0; i < op.targets.length; i += 4) {
    const [row, pos, src, col] = op.targets.subarray(i, i + 4);
    if (row < 0 || row >= batch || pos < 0 || pos >= t || src < 0 || src >= srcRows || col < 0 || col + cols > width)
      throw new RangeError(
        `hook '${hook}': patch target ${i / 4} (row ${row}, pos ${pos}, source row ${src}, column ${col}) is outside ` +
          `the activation [${batch}, ${t}, ${width}] or the source [${srcRows}, ${width}] (${cols} columns)`,
      );
    const at = written.get(row * t + pos) ?? [];
    const clash = at.find((w) => Math.abs(w.col - col) < cols);
    if (clash)
      throw new RangeError(`hook '${hook}': patch targets ${clash.i} and ${i / 4} both write row ${row}, pos ${pos} (columns overlap)`);
    at.push({ col, i: i / 4 });
    written.set(row * t + pos, at);
  }
}

/** In place on act [batch, t, width]: the copies `op` declares (the reference of the device kernel). */
export function applyPatchOp(op: PatchOp, hook: string, act: Float32Array, batch: number, t: number, width: number): void {
  checkPatchTargets(op, hook, batch, t, width);
  const cols = patchCols(op, width);
  for (let i = 0; i < op.targets.length; i += 4) {
    const [row, pos, src, col] = op.targets.subarray(i, i + 4);
    act.set(op.source.subarray(src * width + col, src * width + col + cols), (row * t + pos) * width + col);
  }
}
