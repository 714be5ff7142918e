/**
 * The MLP of a block runs on the rows that hold a token, not on left padding. Padding rows are masked out of every
 * attention, so their values never reach a real row; a forward may skip them only where the caller sees none of
 * them either (`padRowsUnseen`): the same conditions as a shared prefix (models/shared-prefix.ts: declared row-wise
 * hook ops, last or no logits, positions cached from the end) and every cached position inside every prompt.
 * In such a forward the padding rows' MLP output is zero instead of the MLP of whatever they held; every number
 * the caller receives is bit-identical (test/pad-rows.test.ts). The MLP is ~88% of a Qwen block's matmul work, and
 * the direction pipeline's prefill batches are 5–11% padding.
 */
import { outOf, type ForwardCtx } from './forward-context.ts';
import type { HookRunner } from './hook-runner.ts';
import { splitAllowed } from './shared-prefix.ts';
import type { ForwardOptions } from './types.ts';

/** Whether a forward over prompts of these real lengths may skip the MLP of its padding rows (see above). */
export function padRowsUnseen(opts: ForwardOptions, runner: HookRunner, nLayers: number, shortest: number): boolean {
  if (!splitAllowed(opts, runner, nLayers)) return false;
  const deepest = opts.cache?.length ? Math.max(0, ...(opts.cachePositions ?? []).map((q) => -q)) : 0;
  return deepest <= shortest;
}

/** Indices of the rows [batch·t] that hold a token, or null when there is no padding. */
export function liveRowsOf(valid: readonly Uint8Array[], t: number): Int32Array | null {
  const live: number[] = [];
  valid.forEach((v, b) => {
    for (let i = 0; i < t; i++) if (v[i]) live.push(b * t + i);
  });
  return live.length === valid.length * t ? null : Int32Array.from(live);
}

/**
 * `run` (x [n, d] -> [n, d]) over the live rows of x [rows, d] only, its result scattered back with zeros at the
 * padding rows; over every row when nothing is skipped or when `innerPoint` (a hook point inside `run`) is hooked
 * or cached, as its activation would then lack rows.
 */
export async function onLiveRows(
  ctx: ForwardCtx,
  innerPoint: string,
  x: Float32Array,
  d: number,
  run: (x: Float32Array, rows: number) => Promise<Float32Array>,
): Promise<Float32Array> {
  const rows = ctx.batch * ctx.t;
  const live = ctx.liveRows;
  if (!live || ctx.runner.wants(innerPoint)) return await run(x, rows);
  const n = live.length;
  const xs = outOf(ctx, n * d) ?? new Float32Array(n * d);
  for (let i = 0; i < n; i++) xs.set(x.subarray(live[i] * d, (live[i] + 1) * d), i * d);
  const ys = await run(xs, n);
  const y = (outOf(ctx, rows * d) ?? new Float32Array(rows * d)).fill(0);
  for (let i = 0; i < n; i++) y.set(ys.subarray(i * d, (i + 1) * d), live[i] * d);
  return y;
}
