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
import type { ForwardOptions, Hook, HookOp, StartResidual } from './types.ts';

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
 * rest's layout has padding. With `kept` (the call's SharedPrefixCache): the kept prefix's length where it fits these
 * prompts, else at most its maxLength.
 */
export function prefixRows(prompts: readonly number[][], cachePositions: readonly number[] = [], kept?: SharedPrefixCache): number {
  if (prompts.length < 2) return 0;
  const keep = Math.max(1, ...cachePositions.map((q) => -q));
  const p = Math.min(sharedPrefixLength(prompts), Math.min(...prompts.map((q) => q.length)) - keep);
  // A prefix kept from an earlier batch costs nothing to reuse, whatever the rows it saves.
  const reused = kept?.keptLength(prompts[0], p) ?? 0;
  if (reused) return reused;
  const q = kept && kept.maxLength >= 2 ? Math.min(p, kept.maxLength) : p;
  // One token would run as a decode step (t = 1), whose kernels sum in another order than prefill's.
  return q >= 2 && (prompts.length - 1) * q >= MIN_SHARED_ROWS ? q : 0;
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

/** Everything a prefix's keys and values depend on besides the weights, held by value (copies), compared at lookup. */
export interface PrefixKey {
  ids: Int32Array;
  /** The call's hooks (the same objects) and a copy of each one's declared op. */
  hooks: readonly Hook[];
  ops: (HookOp | undefined)[];
  /** The start residual's prefix rows [p, d] and its layer, or null (from the embedding). */
  start: StartResidual | null;
  stop: number | undefined;
  checkFinite: boolean;
}

const copyOp = (op: HookOp | undefined): HookOp | undefined => {
  if (!op) return undefined;
  if (op.kind === 'projectOut') return { kind: 'projectOut', direction: op.direction.slice() };
  if (op.kind === 'addVector') return { ...op, vector: op.vector.slice() };
  return op; // a patch op never reaches a split (splitAllowed), and sameOp never matches one
};

function sameFloats(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

const sameOp = (a: HookOp | undefined, b: HookOp | undefined): boolean => {
  if (!a || !b) return a === b;
  if (a.kind === 'projectOut' && b.kind === 'projectOut') return sameFloats(a.direction, b.direction);
  if (a.kind === 'addVector' && b.kind === 'addVector')
    return a.coeff === b.coeff && a.promptOnly === b.promptOnly && sameFloats(a.vector, b.vector);
  // Patch ops never reach a split (splitAllowed), so none is stored.
  return false;
};

function sameKey(a: PrefixKey, b: PrefixKey): boolean {
  if (a.stop !== b.stop || a.checkFinite !== b.checkFinite || a.ids.length !== b.ids.length) return false;
  if (!a.ids.every((id, i) => id === b.ids[i])) return false;
  if (a.hooks.length !== b.hooks.length || !a.hooks.every((h, i) => h === b.hooks[i] && sameOp(a.ops[i], b.ops[i]))) return false;
  if (!a.start || !b.start) return a.start === b.start;
  return a.start.layer === b.start.layer && sameFloats(a.start.residual, b.start.residual);
}

/**
 * One prefix's keys and values, kept for the next forwards of a pass over many batches (`ForwardOptions.prefixCache`):
 * analysis/model-runs.ts passes one to every batch of a call, so the prefix all prompts share runs once per call,
 * not once per batch (the direction pipeline's passes run 5 batches each). A later forward reuses it only when
 * everything the prefix's keys and values depend on is the same: the model and its weights (a weight edit counts),
 * the prefix ids, the hooks (the same objects, whose ops still hold the same numbers: an op edited in place is
 * seen), the start residual's prefix rows and layer, the stop layer and the finite check. Otherwise it runs the
 * prefix and keeps the new one. Either way the results are the bits of a forward without it (test/prefix-cache.test.ts).
 */
export class SharedPrefixCache {
  /** Prefix forwards run and reused through this cache. */
  runs = 0;
  reuses = 0;
  private entry: { owner: object; version: number; key: PrefixKey; kv: KvCache } | null = null;

  /**
   * @param maxLength the longest prefix to run apart: the one every prompt of the pass shares, so that every batch
   *   finds it (a batch whose prompts share more would otherwise keep a prefix no other batch starts with).
   */
  constructor(readonly maxLength = Infinity) {}

  /** The kept prefix's length (≥ 2) when `first` starts with it and it is at most `p` tokens, else 0. */
  keptLength(first: readonly number[], p: number): number {
    const ids = this.entry?.key.ids;
    return ids && ids.length <= p && ids.every((id, i) => id === first[i]) ? ids.length : 0;
  }

  /** The kept keys and values for this model state and key, or null. Counts a reuse. */
  lookup(owner: object, version: number, key: PrefixKey): KvCache | null {
    const e = this.entry;
    if (!e || e.owner !== owner || e.version !== version || !sameKey(e.key, key)) return null;
    this.reuses++;
    return e.kv;
  }

  /** Keeps `kv` (read only from now on) for later lookups, with copies of what it depends on. Counts a run. */
  store(owner: object, version: number, key: PrefixKey, kv: KvCache): void {
    this.runs++;
    const start = key.start ? { layer: key.start.layer, residual: key.start.residual.slice() } : null;
    this.entry = { owner, version, kv, key: { ...key, ids: key.ids.slice(), hooks: [...key.hooks], ops: key.ops.map(copyOp), start } };
  }
}
