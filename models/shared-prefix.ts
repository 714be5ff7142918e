/**
 * A token prefix that every prompt of a batch starts with (a chat template's opening: `<bos><|user|>\n`, or
 * Qwen2.5's default system message, roughly 25 tokens) runs once instead of once per prompt. Its keys and values
 * are then copied into every row's KV cache ahead of the rest, which runs as an ordinary left-padded batch.
 *
 * Causal attention makes this exact: a prefix position sees only the prefix, so its keys, values and residuals are
 * the same in every row. The rest sees [prefix, padding, own tokens] instead of [padding, prefix, own tokens].
 * Padding is masked out, so attention visits the same keys in the same order and gets bit-identical results.
 * The kernels compute each row independently. test/shared-prefix.test.ts checks the bit-identity on every backend.
 *
 * forward() and generate()'s prompt step use it only where nobody can tell the difference. Every hook must be a
 * declared row-wise op (projectOut, addVector): a JS hook would see the batch in two calls. No hook or cache may
 * name hook_pattern. Cached activations must be at positions counted from the end. Logits must be 'last' or 'none'.
 * The direction pipeline's ablation, induce and filter forwards all qualify.
 */
import type { HookRunner } from './hook-runner.ts';
import type { KvCache } from './kv-cache.ts';
import type { ForwardOptions, StartResidual } from './types.ts';

/**
 * Rows a split must save before it pays: the prefix runs as a forward of its own, which streams every weight once
 * more (a decode step's cost: ~20 ms for a 0.5B int8 model, where 8 prefill rows take ~60 ms).
 */
export const MIN_SHARED_ROWS = 8;

/** Tokens every prompt starts with, leaving each at least one token of its own. */
export function sharedPrefixLength(prompts: readonly number[][]): number {
  if (prompts.length === 0) return 0;
  let n = Math.min(...prompts.map((p) => p.length)) - 1;
  const first = prompts[0];
  for (const p of prompts) {
    let i = 0;
    while (i < n && p[i] === first[i]) i++;
    n = i;
    if (n === 0) break;
  }
  return Math.max(n, 0);
}

/**
 * Whether a forward's options (generate's: hooks, last logits) let the prefix run apart unseen (see above). `runner`
 * is the call's HookRunner (it knows which points its hooks and caches match).
 */
export function splitAllowed(opts: ForwardOptions, runner: HookRunner, nLayers: number): boolean {
  if ((opts.logits ?? 'all') === 'all') return false;
  if ((opts.hooks ?? []).some((h) => !h.op || h.op.kind === 'patch')) return false;
  if (opts.cache?.length && (!opts.cachePositions || opts.cachePositions.some((p) => p >= 0))) return false;
  // hook_pattern is [batch, heads, T, S] whole: a split changes its rows and columns.
  for (let l = 0; l < nLayers; l++) if (runner.wants(`blocks.${l}.attn.hook_pattern`)) return false;
  return true;
}

/**
 * Prefix length to run apart for these prompts, or 0 (shorter than 2 tokens, or saving fewer than MIN_SHARED_ROWS
 * rows). Every row keeps its cached end positions (`cachePositions`, all negative) out of the prefix: there the
 * rest's layout has padding.
 */
export function prefixRows(prompts: readonly number[][], cachePositions: readonly number[] = []): number {
  if (prompts.length < 2) return 0;
  const keep = Math.max(1, ...cachePositions.map((q) => -q));
  const p = Math.min(sharedPrefixLength(prompts), Math.min(...prompts.map((q) => q.length)) - keep);
  // One token would run as a decode step (t = 1), whose kernels sum in another order than prefill's.
  return p >= 2 && (prompts.length - 1) * p >= MIN_SHARED_ROWS ? p : 0;
}

/**
 * A start residual [batch, len, d] (the full prompts, left-padded) split into the prefix's rows [1, p, d] (row 0's:
 * every row holds the same ones) and the rest [batch, len - p, d], left-padded as the suffixes are.
 */
export function splitStart(start: StartResidual, padding: readonly number[], len: number, p: number, d: number) {
  const batch = padding.length;
  const rest = len - p;
  const suffix = new Float32Array(batch * rest * d);
  for (let b = 0; b < batch; b++) {
    const pad = padding[b];
    const row = start.residual.subarray(b * len * d, (b + 1) * len * d);
    // Full row: [pad][prefix p][own]; suffix row: [pad][own] (own = len - pad - p tokens).
    suffix.set(row.subarray((pad + p) * d), (b * rest + pad) * d);
  }
  const pad0 = padding[0];
  const prefix = start.residual.slice(pad0 * d, (pad0 + p) * d);
  return { prefix: { layer: start.layer, residual: prefix }, suffix: { layer: start.layer, residual: suffix } };
}

/** Copies the prefix's keys and values (one row, `from.length` slots) into every row of `to`, ahead of the rest. */
export function seedFromPrefix(to: KvCache, from: KvCache): void {
  const p = from.length;
  const ones = new Uint8Array(p).fill(1);
  to.appendMask(
    Array.from({ length: to.batch }, () => ones),
    p,
  );
  for (let l = 0; l < to.k.length; l++)
    for (let b = 0; b < to.batch; b++) {
      to.k[l][b].set(from.k[l][0]);
      to.v[l][b].set(from.v[l][0]);
    }
  to.advance(p);
}
