/**
 * Long synchronous jobs (exports, checkpoint writes) written as generators that yield between units of work:
 * `drainSteps` runs one to the end synchronously; `runSteps` lets the event loop breathe after each step, so a
 * SIGINT handler can run, and on an aborted signal closes the generator (its `finally` blocks remove temp
 * files) and throws an InterruptedError.
 */
import { InterruptedError } from './errors.ts';

export function drainSteps<T>(g: Generator<void, T>): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}

export async function runSteps<T>(g: Generator<void, T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  for (let steps = 0; ; steps++) {
    const r = g.next();
    if (r.done) return r.value;
    await new Promise((resolve) => setImmediate(resolve));
    if (signal?.aborted) {
      g.return(undefined as T);
      throw new InterruptedError(`${what}: interrupted after ${steps + 1} steps; temporary files removed`);
    }
  }
}
