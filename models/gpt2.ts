/**
 * The GPT-2 decoder: LayerNorm -> q/k/v (c_attn split at load) -> attention over the KV cache ->
 * c_proj -> residual -> LayerNorm -> gelu_new(c_fc) -> mlp.c_proj -> residual. Positions are learned
 * (wpe), added once at the embedding.
 * Shapes: rows = batch·t (t new positions per sequence in this call), d = d_model, H heads of hd = head_dim.
 */
import { attend } from './attention.ts';
import type { EmbeddingTables, FamilyDescriptor } from './family.ts';
import { hookAt, normalize, outOf, type ForwardCtx, type LayerParams } from './forward-context.ts';
import { onLiveRows } from './pad-rows.ts';

/** ids [rows] -> x = wte[ids] + wpe[positions] [rows, d]. */
export async function gpt2Embed(ctx: ForwardCtx, tables: EmbeddingTables, ids: Int32Array): Promise<Float32Array> {
  const d = ctx.cfg.dModel;
  const wpe = tables.positions!;
  const maxPos = wpe.length / d;
  for (const p of ctx.ropePos) if (p >= maxPos) throw new RangeError(`gpt2: position ${p} exceeds the ${maxPos} learned positions (wpe)`);
  const n = ids.length * d;
  const tok = hookAt(ctx, 'hook_embed', null, await ctx.backend.embedding(tables.tokens, ids, d, outOf(ctx, n)), d); // [rows, d]
  const pos = hookAt(ctx, 'hook_pos_embed', null, await ctx.backend.embedding(wpe, ctx.ropePos, d, outOf(ctx, n)), d); // [rows, d]
  return await ctx.backend.add(tok, pos, outOf(ctx, n));
}

/**
 * resid [rows, d] -> resid [rows, d]. Appends layer l's k, v [rows, H·hd] to the KV cache, which holds per layer and
 * sequence [capacity, H·hd]; attention reads all cached positions [0, kv.length + t).
 */
export async function gpt2Block(ctx: ForwardCtx, l: number, p: LayerParams, resid: Float32Array): Promise<Float32Array> {
  const { backend, cfg } = ctx;
  const rows = ctx.batch * ctx.t;
  const d = cfg.dModel;
  const b = `blocks.${l}`;
  const x = hookAt(ctx, `${b}.hook_resid_pre`, l, resid, d); // x [rows, d]

  const h = hookAt(ctx, `${b}.ln1.hook_normalized`, l, await normalize(ctx, x, p.attnNorm), d);
  const [q, k, v] = await p.qkv.applyEach(h, rows, ctx.scope); // q, k, v [rows, H·hd] (the three row blocks of c_attn)
  const z = hookAt(ctx, `${b}.attn.hook_z`, l, await attend(ctx, l, q, k, v), cfg.nHeads * cfg.headDim); // z [rows, H·hd]
  const attnOut = hookAt(ctx, `${b}.hook_attn_out`, l, await p.o.apply(z, rows, ctx.scope), d); // attn.c_proj: [rows, d]
  const mid = hookAt(ctx, `${b}.hook_resid_mid`, l, await backend.add(x, attnOut, outOf(ctx, rows * d)), d);

  const h2 = hookAt(ctx, `${b}.ln2.hook_normalized`, l, await normalize(ctx, mid, p.mlpNorm), d);
  // The MLP skips padding rows where the caller sees none (pad-rows.ts); n = rows otherwise.
  const mlp = await onLiveRows(ctx, l, `${b}.mlp.hook_post`, h2, d, async (h2n, n) => {
    const fc = await p.mlpIn.apply(h2n, n, ctx.scope); // c_fc: [n, d_mlp]
    const post = hookAt(ctx, `${b}.mlp.hook_post`, l, await backend.gelu(fc, outOf(ctx, fc.length)), cfg.dMlp); // gelu_new(c_fc)
    return await p.down.apply(post, n, ctx.scope); // mlp.c_proj: [n, d]
  });
  const mlpOut = hookAt(ctx, `${b}.hook_mlp_out`, l, mlp, d); // [rows, d]
  return hookAt(ctx, `${b}.hook_resid_post`, l, await backend.add(mid, mlpOut, outOf(ctx, rows * d)), d);
}

export const GPT2_FAMILY: FamilyDescriptor = {
  modelTypes: ['gpt2'],
  embedding: 'token+learned-positions',
  positions: 'learned',
  blockLayout: 'LayerNorm -> c_attn (q|k|v) -> attention -> attn.c_proj -> +resid -> LayerNorm -> gelu_new(c_fc) -> mlp.c_proj -> +resid',
  norm: 'layer',
  mlp: 'gelu',
  contextLimit: 'max-positions',
  linearRoles: ['q', 'k', 'v', 'o', 'up', 'down'],
  // q, k and v are the three row blocks of one fused Conv1D, c_attn ([in, out] on disk, transposed at load).
  linearNames: { q: 'attn.c_attn', k: 'attn.c_attn', v: 'attn.c_attn', o: 'attn.c_proj', up: 'mlp.c_fc', down: 'mlp.c_proj' },
  residualWriters: ['o', 'down'],
  tiedEmbeddingsDefault: true,
  embed: gpt2Embed,
  block: gpt2Block,
  syntheticFields: (_modelType, { nHeads }) => ({
    nKvHeads: nHeads,
    norm: 'layer',
    normEps: 1e-5,
    act: 'gelu_new',
    qkvBias: true,
    outBias: true,
    mlpBias: true,
    rope: null,
  }),
};
