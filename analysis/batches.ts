/** Batched iteration with cooperative cancellation (checked between batches: a forward cannot be cut). */
import { InterruptedError } from '../engine/errors.ts';

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
