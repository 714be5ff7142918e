/** Batched iteration with cooperative cancellation (checked between batches: a forward cannot be cut). */
import { InterruptedError, UsageError } from '../engine/errors.ts';

export const DEFAULT_BATCH = 32;

export function* chunks<T>(items: readonly T[], size: number): Generator<{ start: number; items: T[] }> {
  for (let s = 0; s < items.length; s += size) yield { start: s, items: items.slice(s, s + size) };
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new InterruptedError(`${what}: interrupted`);
}

/**
 * Lets the event loop run (SIGINT handlers, progress-bar redraws) before the next batch: CPU backends resolve
 * their promises without ever returning to the loop, so a long run would otherwise never see a signal.
 */
export async function nextBatch(signal: AbortSignal | undefined, what: string): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  throwIfAborted(signal, what);
}

/** One batch of a length-sorted plan: the prompts and their indices in the caller's list. */
export interface LengthBatch<T> {
  indices: number[];
  items: T[];
}

/**
 * Padded tokens per prefill forward (lastLogits, difference in means): enough rows that every matmul runs at full
 * speed (a 0.5B forward's tokens/s is flat from 128 to 512 rows), few enough prompts that a batch holds near-equal
 * lengths. On the val prompts of ../shared/data (64 prompts of 13-59 tokens, 1849 real) a pass computes 1956 padded
 * tokens (2944 in list-order batches of 32; 2147 at 512 per batch). Measured, ablation pass on the 0.5B shape,
 * interleaved in one process: 512 → 15.4 s, 256 → 14.1 s, 192 → 14.1 s, 128 → 14.5 s (docs/direction-cost.md §3).
 */
export const PREFILL_BATCH_TOKENS = 256;

/**
 * Batches of at most `size` prompts and (past the first prompt) at most `maxTokens` padded tokens, shortest first (ties
 * in list order), so each batch pads only to its own longest prompt instead of to a random one. Deterministic: runs
 * that share per-batch state (cached residuals) keep the plan itself. `shared` leading tokens of every item are not
 * counted: a prefix every prompt shares runs once per forward (models/shared-prefix.ts).
 */
export function lengthBatches<T extends { length: number }>(
  items: readonly T[],
  size: number,
  maxTokens = Infinity,
  shared = 0,
): LengthBatch<T>[] {
  if (!(Number.isInteger(size) && size >= 1)) throw new UsageError(`batch size must be a positive integer, got ${size}`);
  if (!(maxTokens >= 1)) throw new UsageError(`tokens per batch must be at least 1, got ${maxTokens}`);
  const order = items.map((_, i) => i).sort((a, b) => items[a].length - items[b].length || a - b);
  const out: LengthBatch<T>[] = [];
  let cur: LengthBatch<T> = { indices: [], items: [] };
  for (const i of order) {
    // Sorted ascending: the batch pads to the prompt being added.
    const n = cur.items.length;
    if (n > 0 && (n + 1 > size || (n + 1) * (items[i].length - shared) > maxTokens)) {
      out.push(cur);
      cur = { indices: [], items: [] };
    }
    cur.indices.push(i);
    cur.items.push(items[i]);
  }
  if (cur.items.length > 0) out.push(cur);
  return out;
}
