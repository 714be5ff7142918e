/**
 * The Llama-family decoder block (llama, mistral, qwen2), in the order of llama2.c's run.c:
 * RMSNorm -> q/k/v (qwen2: with biases) -> RoPE -> attention over the KV cache -> o -> residual ->
 * RMSNorm -> silu(gate) * up -> down -> residual. Each intermediate passes its hook point.
 */
import { attend } from './attention.ts';
import { hookAt, normalize, type ForwardCtx, type LayerParams } from './forward-context.ts';

export async function llamaEmbed(ctx: ForwardCtx, table: Float32Array, ids: Int32Array): Promise<Float32Array> {
  const x = await ctx.backend.embedding(table, ids, ctx.cfg.dModel);
  return hookAt(ctx, 'hook_embed', null, x, ctx.cfg.dModel);
}

export async function llamaBlock(ctx: ForwardCtx, l: number, p: LayerParams, resid: Float32Array): Promise<Float32Array> {
  const { backend, cfg } = ctx;
  const rows = ctx.batch * ctx.t;
  const d = cfg.dModel;
  const b = `blocks.${l}`;
  const x = hookAt(ctx, `${b}.hook_resid_pre`, l, resid, d);

  const h = hookAt(ctx, `${b}.ln1.hook_normalized`, l, await normalize(ctx, x, p.attnNorm), d);
  const [qRaw, kRaw, v] = await p.qkv.run(h, rows);
  const q = await backend.rope(qRaw, ctx.ropePos, rows, cfg.nHeads, cfg.headDim, ctx.invFreq!);
  const k = await backend.rope(kRaw, ctx.ropePos, rows, cfg.nKvHeads, cfg.headDim, ctx.invFreq!);
  const z = hookAt(ctx, `${b}.attn.hook_z`, l, await attend(ctx, l, q, k, v), cfg.nHeads * cfg.headDim);
  const attnOut = hookAt(ctx, `${b}.hook_attn_out`, l, await p.o.run1(z, rows), d);
  const mid = hookAt(ctx, `${b}.hook_resid_mid`, l, await backend.add(x, attnOut), d);

  const h2 = hookAt(ctx, `${b}.ln2.hook_normalized`, l, await normalize(ctx, mid, p.mlpNorm), d);
  const [gate, up] = await p.mlpIn.run(h2, rows);
  const post = hookAt(ctx, `${b}.mlp.hook_post`, l, await backend.siluGate(gate, up), cfg.dMlp);
  const mlpOut = hookAt(ctx, `${b}.hook_mlp_out`, l, await p.down.run1(post, rows), d);
  return hookAt(ctx, `${b}.hook_resid_post`, l, await backend.add(mid, mlpOut), d);
}
