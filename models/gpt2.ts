/**
 * The GPT-2 decoder block: LayerNorm -> q/k/v (c_attn split at load) -> attention over the KV cache ->
 * c_proj -> residual -> LayerNorm -> gelu_new(c_fc) -> mlp.c_proj -> residual. Positions are learned
 * (wpe), added once at the embedding.
 */
import { attend } from './attention.ts';
import { hookAt, normalize, type ForwardCtx, type LayerParams } from './forward-context.ts';

export async function gpt2Embed(ctx: ForwardCtx, wte: Float32Array, wpe: Float32Array, ids: Int32Array): Promise<Float32Array> {
  const d = ctx.cfg.dModel;
  const maxPos = wpe.length / d;
  for (const p of ctx.ropePos)
    if (p >= maxPos) throw new RangeError(`gpt2: position ${p} exceeds the ${maxPos} learned positions (wpe)`);
  const tok = hookAt(ctx, 'hook_embed', null, await ctx.backend.embedding(wte, ids, d), d);
  const pos = hookAt(ctx, 'hook_pos_embed', null, await ctx.backend.embedding(wpe, ctx.ropePos, d), d);
  return await ctx.backend.add(tok, pos);
}

export async function gpt2Block(ctx: ForwardCtx, l: number, p: LayerParams, resid: Float32Array): Promise<Float32Array> {
  const { backend, cfg } = ctx;
  const rows = ctx.batch * ctx.t;
  const d = cfg.dModel;
  const b = `blocks.${l}`;
  const x = hookAt(ctx, `${b}.hook_resid_pre`, l, resid, d);

  const h = hookAt(ctx, `${b}.ln1.hook_normalized`, l, await normalize(ctx, x, p.attnNorm), d);
  const [q, k, v] = await p.qkv.run(h, rows);
  const z = hookAt(ctx, `${b}.attn.hook_z`, l, await attend(ctx, l, q, k, v), cfg.nHeads * cfg.headDim);
  const attnOut = hookAt(ctx, `${b}.hook_attn_out`, l, await p.o.run1(z, rows), d);
  const mid = hookAt(ctx, `${b}.hook_resid_mid`, l, await backend.add(x, attnOut), d);

  const h2 = hookAt(ctx, `${b}.ln2.hook_normalized`, l, await normalize(ctx, mid, p.mlpNorm), d);
  const post = hookAt(ctx, `${b}.mlp.hook_post`, l, await backend.gelu(await p.mlpIn.run1(h2, rows)), cfg.dMlp);
  const mlpOut = hookAt(ctx, `${b}.hook_mlp_out`, l, await p.down.run1(post, rows), d);
  return hookAt(ctx, `${b}.hook_resid_post`, l, await backend.add(mid, mlpOut), d);
}
