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
 * Batches of at most `size` prompts, shortest first (ties in list order), so each batch pads only to its own
 * longest prompt instead of to a random one. Deterministic: runs that share per-batch state (cached residuals)
 * must use the same plan, and get it by calling this with the same list and size.
 */
export function lengthBatches<T extends { length: number }>(items: readonly T[], size: number): LengthBatch<T>[] {
  if (!(Number.isInteger(size) && size >= 1)) throw new UsageError(`batch size must be a positive integer, got ${size}`);
  const order = items.map((_, i) => i).sort((a, b) => items[a].length - items[b].length || a - b);
  const out: LengthBatch<T>[] = [];
  for (let s = 0; s < order.length; s += size) {
    const indices = order.slice(s, s + size);
    out.push({ indices, items: indices.map((i) => items[i]) });
  }
  return out;
}
