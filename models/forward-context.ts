/** What one forward call over a batch of rows carries through the blocks: backend, hooks, KV cache, positions. */
import type { ModelConfig } from '../engine/types.ts';
import type { Backend } from '../kernels/types.ts';
import type { HookRunner } from './hook-runner.ts';
import type { KvCache } from './kv-cache.ts';
import { LinearGroup } from './runtime-linear.ts';
import type { StepScope } from './step-buffers.ts';
import type { LinearRole, ModelLinear } from './types.ts';
import type { NormWeights } from './weight-provider.ts';

export interface LayerParams {
  attnNorm: NormWeights;
  mlpNorm: NormWeights;
  /** The weights as the model holds them (getLinear); gate is null for gpt2. null once released. */
  lin: Record<LinearRole, ModelLinear | null> | null;
  /** Uploaded groups: q|k|v and gate|up share their input and run as one matmul when formats agree. */
  qkv: LinearGroup;
  o: LinearGroup;
  /** [gate, up] (llama family) or [up] (gpt2). */
  mlpIn: LinearGroup;
  down: LinearGroup;
}

/** Uploads one layer's Linears as groups. */
export function layerParams(
  backend: Backend,
  attnNorm: NormWeights,
  mlpNorm: NormWeights,
  lin: Record<LinearRole, ModelLinear | null>,
): LayerParams {
  return {
    attnNorm,
    mlpNorm,
    lin,
    qkv: new LinearGroup(backend, [lin.q!, lin.k!, lin.v!]),
    o: new LinearGroup(backend, [lin.o!]),
    mlpIn: new LinearGroup(backend, lin.gate ? [lin.gate, lin.up!] : [lin.up!]),
    down: new LinearGroup(backend, [lin.down!]),
  };
}

export interface ForwardCtx {
  backend: Backend;
  cfg: ModelConfig;
  runner: HookRunner;
  kv: KvCache;
  batch: number;
  /** New positions per row in this call. */
  t: number;
  /** Absolute position of every (row, pos); 0 at padding so that RoPE / wpe stay defined there. */
  ropePos: Int32Array;
  /** RoPE inverse frequencies, null for learned positions. */
  invFreq: Float32Array | null;
  /** Where this step's intermediates come from when no hook can see them (step-buffers.ts); null: fresh arrays. */
  scope: StepScope | null;
  /** Rows [batch·t] whose MLP runs (pad-rows.ts: the caller sees no padding row); null: every row. */
  liveRows: Int32Array | null;
  /** Rows whose MLP runs in the final block (pad-rows.ts: the caller sees only its last rows); null: liveRows. */
  finalRows: Int32Array | null;
}

/** A reusable destination of n floats for an op's result (kernels/types.ts `out`), or undefined (fresh). */
export function outOf(ctx: ForwardCtx, n: number): Float32Array | undefined {
  return ctx.scope?.f32(n);
}

/** Runs hooks/caching/NaN checks on an activation of `width` per (row, pos). */
export function hookAt(ctx: ForwardCtx, name: string, layer: number | null, act: Float32Array, width: number): Float32Array {
  return ctx.runner.fire({ name, layer, batch: ctx.batch, pos: ctx.t, width }, act);
}

export async function normalize(ctx: ForwardCtx, x: Float32Array, nw: NormWeights): Promise<Float32Array> {
  const rows = ctx.batch * ctx.t;
  const d = ctx.cfg.dModel;
  const out = outOf(ctx, rows * d);
  if (ctx.cfg.norm === 'layer') return await ctx.backend.layerNorm(x, nw.w, nw.b!, rows, d, ctx.cfg.normEps, out);
  return await ctx.backend.rmsNorm(x, nw.w, rows, d, ctx.cfg.normEps, undefined, out);
}
