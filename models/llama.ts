/**
 * The Llama-family decoder (llama, mistral, qwen2), in the order of llama2.c's run.c:
 * RMSNorm -> q/k/v (qwen2: with biases) -> RoPE -> attention over the KV cache -> o -> residual ->
 * RMSNorm -> silu(gate) * up -> down -> residual. Each intermediate passes its hook point.
 * Shapes: rows = batch·t (t new positions per sequence in this call), d = d_model, hd = head_dim,
 * H / Hkv = query / key-value heads (grouped-query attention when Hkv < H).
 */
import { attend } from './attention.ts';
import type { FamilyDescriptor } from './family.ts';
import { hookAt, normalize, outOf, type ForwardCtx, type LayerParams } from './forward-context.ts';
import { onLiveRows } from './pad-rows.ts';

/** ids [rows] -> x [rows, d]: the token table only; position enters later, as RoPE on q and k. */
export async function llamaEmbed(ctx: ForwardCtx, tables: { tokens: Float32Array }, ids: Int32Array): Promise<Float32Array> {
  const x = await ctx.backend.embedding(tables.tokens, ids, ctx.cfg.dModel, outOf(ctx, ids.length * ctx.cfg.dModel)); // x [rows, d]
  return hookAt(ctx, 'hook_embed', null, x, ctx.cfg.dModel);
}

/**
 * resid [rows, d] -> resid [rows, d]. Appends layer l's k, v [rows, Hkv·hd] to the KV cache, which holds per layer and
 * sequence [capacity, Hkv·hd]; attention reads all cached positions [0, kv.length + t).
 */
export async function llamaBlock(ctx: ForwardCtx, l: number, p: LayerParams, resid: Float32Array): Promise<Float32Array> {
  const { backend, cfg } = ctx;
  const rows = ctx.batch * ctx.t;
  const d = cfg.dModel;
  const b = `blocks.${l}`;
  const x = hookAt(ctx, `${b}.hook_resid_pre`, l, resid, d); // x [rows, d]

  const h = hookAt(ctx, `${b}.ln1.hook_normalized`, l, await normalize(ctx, x, p.attnNorm), d); // h [rows, d]
  const [qRaw, kRaw, v] = await p.qkv.applyEach(h, rows, ctx.scope); // q [rows, H·hd], k, v [rows, Hkv·hd]
  const q = await backend.rope(qRaw, ctx.ropePos, rows, cfg.nHeads, cfg.headDim, ctx.invFreq!, outOf(ctx, qRaw.length));
  const k = await backend.rope(kRaw, ctx.ropePos, rows, cfg.nKvHeads, cfg.headDim, ctx.invFreq!, outOf(ctx, kRaw.length));
  const z = hookAt(ctx, `${b}.attn.hook_z`, l, await attend(ctx, l, q, k, v), cfg.nHeads * cfg.headDim); // z [rows, H·hd]
  const attnOut = hookAt(ctx, `${b}.hook_attn_out`, l, await p.o.apply(z, rows, ctx.scope), d); // o_proj: [rows, d]
  const mid = hookAt(ctx, `${b}.hook_resid_mid`, l, await backend.add(x, attnOut, outOf(ctx, rows * d)), d); // mid [rows, d]

  const h2 = hookAt(ctx, `${b}.ln2.hook_normalized`, l, await normalize(ctx, mid, p.mlpNorm), d);
  // The MLP skips padding rows where the caller sees none (pad-rows.ts); n = rows otherwise.
  const mlp = await onLiveRows(ctx, l, `${b}.mlp.hook_post`, h2, d, async (h2n, n) => {
    const post = hookAt(ctx, `${b}.mlp.hook_post`, l, await gatedMlp(ctx, p, h2n, n), cfg.dMlp); // silu(gate)·up [n, d_mlp]
    return await p.down.apply(post, n, ctx.scope); // down_proj: [n, d]
  });
  const mlpOut = hookAt(ctx, `${b}.hook_mlp_out`, l, mlp, d); // [rows, d]
  return hookAt(ctx, `${b}.hook_resid_post`, l, await backend.add(mid, mlpOut, outOf(ctx, rows * d)), d);
}

/** silu(gate)·up [rows, d_mlp] from h2 [rows, d]; gate and up [rows, d_mlp] are no hook points, so one fused call may do it. */
async function gatedMlp(ctx: ForwardCtx, p: LayerParams, h2: Float32Array, rows: number): Promise<Float32Array> {
  const fused = await p.mlpIn.applyGated(h2, rows, ctx.scope);
  if (fused) return fused;
  const [gate, up] = await p.mlpIn.applyEach(h2, rows, ctx.scope); // gate, up [rows, d_mlp]
  return await ctx.backend.siluGate(gate, up, outOf(ctx, gate.length));
}

export const LLAMA_FAMILY: FamilyDescriptor = {
  modelTypes: ['llama', 'mistral', 'qwen2'],
  embedding: 'token',
  positions: 'rope',
  blockLayout: 'RMSNorm -> q,k,v -> RoPE(q,k) -> attention -> o_proj -> +resid -> RMSNorm -> silu(gate)*up -> down_proj -> +resid',
  norm: 'rms',
  mlp: 'gated-silu',
  contextLimit: 'sliding-window-only',
  linearRoles: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'],
  linearNames: {
    q: 'self_attn.q_proj',
    k: 'self_attn.k_proj',
    v: 'self_attn.v_proj',
    o: 'self_attn.o_proj',
    gate: 'mlp.gate_proj',
    up: 'mlp.up_proj',
    down: 'mlp.down_proj',
  },
  residualWriters: ['o', 'down'],
  tiedEmbeddingsDefault: false,
  embed: llamaEmbed,
  block: llamaBlock,
  syntheticFields: (modelType, { nKvHeads, headDim }) => ({
    nKvHeads,
    norm: 'rms',
    normEps: 1e-6,
    act: 'silu',
    // Qwen2 hard-codes bias=True on q/k/v (as config.ts reads it).
    qkvBias: modelType === 'qwen2',
    outBias: false,
    mlpBias: false,
    rope: { theta: 10000, scaling: { type: 'none' }, dim: headDim },
  }),
};
