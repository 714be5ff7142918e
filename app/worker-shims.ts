/** Node globals that browser-agnostic library code uses (analysis/batches.ts yields with setImmediate). Imported first. */
const g = globalThis as unknown as { setImmediate?: (fn: (...a: unknown[]) => void, ...a: unknown[]) => unknown };
if (typeof g.setImmediate !== 'function') g.setImmediate = (fn, ...a) => setTimeout(fn, 0, ...a);
export {};
