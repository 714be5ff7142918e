/**
 * Intervention hooks (docs/method-notes.md §2.6) as pure functions over activations: directional ablation at every
 * residual writer and activation addition at one layer's input. They run in f32 like the model's activations
 * (Arditi casts the direction to the activation dtype too).
 */
import { applyPatchOp } from '../models/patch-op.ts';
import type { Hook, HookContext, PatchOp } from '../models/types.ts';
import { unit } from './vector-math.ts';

/** Arditi's hook_utils divides by |d| + 1e-8 (never fails on a zero direction); the hooks follow it. */
export const ABLATION_EPSILON = 1e-8;

/** The f32 unit direction the ablation hooks project out: d / (|d| + 1e-8), computed in f64, rounded once. */
export function ablationDirection(r: ArrayLike<number>): Float32Array {
  return Float32Array.from(unit(r, { epsilon: ABLATION_EPSILON }));
}

/**
 * In place: every row x of act [rows, width] becomes x - (x·d)d. The dot is accumulated in f64, in index order.
 * Four rows go together: each row's sum is still one chain in index order (the same bits), but four independent
 * chains keep the adder busy where one waits on its own latency.
 */
export function projectOut(act: Float32Array, d: Float32Array): void {
  const w = d.length;
  if (act.length % w !== 0) throw new RangeError(`projectOut: activation length ${act.length} is not a multiple of ${w}`);
  let o = 0;
  for (; o + 4 * w <= act.length; o += 4 * w) {
    const o1 = o + w;
    const o2 = o1 + w;
    const o3 = o2 + w;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let i = 0; i < w; i++) {
      const di = d[i];
      s0 += act[o + i] * di;
      s1 += act[o1 + i] * di;
      s2 += act[o2 + i] * di;
      s3 += act[o3 + i] * di;
    }
    for (let i = 0; i < w; i++) {
      const di = d[i];
      act[o + i] -= s0 * di;
      act[o1 + i] -= s1 * di;
      act[o2 + i] -= s2 * di;
      act[o3 + i] -= s3 * di;
    }
  }
  for (; o < act.length; o += w) {
    let dot = 0;
    for (let i = 0; i < w; i++) dot += act[o + i] * d[i];
    for (let i = 0; i < w; i++) act[o + i] -= dot * d[i];
  }
}

/** In place: act[row] += coeff * r for every row (rows of padding included; they are masked anyway). */
export function addVector(act: Float32Array, r: Float32Array, coeff: number, rowFilter?: (row: number) => boolean): void {
  const w = r.length;
  for (let o = 0, row = 0; o < act.length; o += w, row++) {
    if (rowFilter && !rowFilter(row)) continue;
    for (let i = 0; i < w; i++) act[o + i] += coeff * r[i];
  }
}

/** Hook points ablation touches: the residual input of each block and the two writers into the residual. */
export const ABLATION_POINTS = ['blocks.*.hook_resid_pre', 'blocks.*.hook_attn_out', 'blocks.*.hook_mlp_out'] as const;

/** Directional ablation of r̂ at every layer and position (generated tokens included: hooks fire per step). */
export function ablationHooks(r: ArrayLike<number>): Hook[] {
  const d = ablationDirection(r);
  const fn = (act: Float32Array) => projectOut(act, d);
  // `op` declares the same computation so a device backend (webgpu) runs it as a kernel, without a readback.
  return ABLATION_POINTS.map((name) => ({ name, fn, op: { kind: 'projectOut' as const, direction: d } }));
}

export interface AdditionOptions {
  coeff?: number;
  /** Add at the prompt forward only (ctx.step === 0), not at generated tokens. */
  promptOnly?: boolean;
}

/** Activation addition x <- x + coeff * r (raw r) at blocks.{layer}.hook_resid_pre, all positions. */
export function additionHook(r: ArrayLike<number>, layer: number, opts: AdditionOptions = {}): Hook {
  const v = Float32Array.from(r as ArrayLike<number>);
  const coeff = opts.coeff ?? 1;
  return {
    name: `blocks.${layer}.hook_resid_pre`,
    fn: (act: Float32Array, ctx: HookContext) => {
      if (opts.promptOnly && ctx.step !== 0) return;
      addVector(act, v, coeff);
    },
    op: { kind: 'addVector', vector: v, coeff, promptOnly: !!opts.promptOnly },
  };
}

export interface PatchTarget {
  /** Batch row and position of the patched run (its left-padded [batch, t] layout at the prompt forward). */
  row: number;
  pos: number;
  /** Row of `source` ([srcRows, width]: a cached run's [1, T, width] activation has srcRow = its position). */
  srcRow: number;
  /** First column (default 0). */
  col?: number;
}

/**
 * Activation patching from a cached run at hook point `name`: at the prompt forward only, each target's row (or
 * `cols` columns from target.col) is overwritten with the source's. Declared as a `patch` op, so webgpu runs it
 * as a kernel with the source kept on the device (no readback).
 */
export function patchHook(name: string, source: Float32Array, targets: PatchTarget[], cols: number | null = null): Hook {
  const op: PatchOp = {
    kind: 'patch',
    source,
    targets: Int32Array.from(targets.flatMap((t) => [t.row, t.pos, t.srcRow, t.col ?? 0])),
    cols,
  };
  return {
    name,
    fn: (act: Float32Array, ctx: HookContext) => {
      if (ctx.step === 0) applyPatchOp(op, name, act, ctx.batch, ctx.pos, ctx.width);
    },
    op,
  };
}
