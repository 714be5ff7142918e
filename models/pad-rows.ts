/**
 * The MLP of a block runs on the rows that hold a token, not on left padding. Padding rows are masked out of every
 * attention, so their values never reach a real row; a forward may skip them only where the caller sees none of
 * them either (`padRowsUnseen`): the same conditions as a shared prefix (models/shared-prefix.ts: declared row-wise
 * hook ops, last or no logits, positions cached from the end) and every cached position inside every prompt.
 * In such a forward the padding rows' MLP output is zero instead of the MLP of whatever they held; every number
 * the caller receives is bit-identical (test/pad-rows.test.ts). The MLP is ~88% of a Qwen block's matmul work, and
 * the direction pipeline's prefill batches are 5–11% padding.
 *
 * The final block goes further where the caller sees only its last positions (`finalRowsUnseen`: logits 'last' or
 * 'none', and nothing cached after the final block's MLP except at position -1): its MLP runs on the last row of
 * every sequence, as nothing else it computes reaches the last logits. That is 1/L of the MLP work of a scoring
 * forward (~4% on a 24-layer model), bit-identical too (test/pad-rows.test.ts). As with padding rows, a NaN or
 * Infinity that a skipped row would have produced is not computed, so the finite check cannot report it.
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

/**
 * Whether, beyond `padRowsUnseen`, the final block's MLP may run on the last row of each sequence only: no cache
 * after it (its hook_post, hook_mlp_out, hook_resid_post, ln_final.hook_normalized) at any position but -1.
 * Hooks there are declared row-wise ops (splitAllowed), so the last row's values do not depend on the others.
 */
export function finalRowsUnseen(opts: ForwardOptions, runner: HookRunner, nLayers: number): boolean {
  const b = `blocks.${nLayers - 1}`;
  const after = [`${b}.mlp.hook_post`, `${b}.hook_mlp_out`, `${b}.hook_resid_post`, 'ln_final.hook_normalized'];
  if (!after.some((n) => runner.caches(n))) return true;
  return (opts.cachePositions ?? []).every((q) => q === -1) && (opts.cachePositions?.length ?? 0) > 0;
}

/**
 * The final block's MLP rows when only last positions are seen: row b·t + t - 1 of every sequence b [batch·t].
 * A batch of one keeps its last two rows: a one-row matmul takes the decode kernels, which sum in another order
 * on some backends (wasm-simd f32), and the point is the same bits. null when that is every row.
 */
export function lastRowsOf(batch: number, t: number): Int32Array | null {
  const keep = batch === 1 ? Math.min(2, t) : 1;
  if (keep === t) return null;
  const rows = new Int32Array(batch * keep);
  for (let b = 0; b < batch; b++) for (let i = 0; i < keep; i++) rows[b * keep + i] = (b + 1) * t - keep + i;
  return rows;
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
 * `run` (x [n, d] -> [n, d]) over the live rows of x [rows, d] only (in block `layer`: the final block may keep
 * only last rows), its result scattered back with zeros at the other rows; over every row when nothing is skipped
 * or when `innerPoint` (a hook point inside `run`) is hooked or cached, as its activation would then lack rows.
 */
export async function onLiveRows(
  ctx: ForwardCtx,
  layer: number,
  innerPoint: string,
  x: Float32Array,
  d: number,
  run: (x: Float32Array, rows: number) => Promise<Float32Array>,
): Promise<Float32Array> {
  const rows = ctx.batch * ctx.t;
  const live = layer === ctx.cfg.nLayers - 1 && ctx.finalRows ? ctx.finalRows : ctx.liveRows;
  if (!live || ctx.runner.wants(innerPoint)) return await run(x, rows);
  const n = live.length;
  const xs = outOf(ctx, n * d) ?? new Float32Array(n * d);
  for (let i = 0; i < n; i++) xs.set(x.subarray(live[i] * d, (live[i] + 1) * d), i * d);
  const ys = await run(xs, n);
  const y = (outOf(ctx, rows * d) ?? new Float32Array(rows * d)).fill(0);
  for (let i = 0; i < n; i++) y.set(ys.subarray(i * d, (i + 1) * d), live[i] * d);
  return y;
}
