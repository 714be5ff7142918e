/**
 * Per-op wall time of a Backend (bench:browser's --profile, the web app's ?profile=1): every op method is
 * wrapped in place with performance.now() (available in Node and in a page or worker). Only the time inside the
 * backend is counted; a forward pass's time outside it (hooks, KV cache bookkeeping, sampling) is what a caller
 * measures around it minus the total here.
 */
import type { Backend } from './types.ts';

export const PROFILED_OPS = [
  'linear',
  'linearGated',
  'rmsNorm',
  'layerNorm',
  'rope',
  'attention',
  'siluGate',
  'gelu',
  'add',
  'embedding',
] as const;

export type OpProfile = Record<string, { calls: number; ms: number }>;

export interface BackendProfiler {
  /** Counts since the last reset, ops never called left out. */
  snapshot(): OpProfile;
  reset(): void;
}

export function profileBackend(b: Backend): BackendProfiler {
  const stats: OpProfile = {};
  const target = b as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const op of PROFILED_OPS) {
    const fn = target[op];
    if (typeof fn !== 'function') continue;
    const s = (stats[op] = { calls: 0, ms: 0 });
    target[op] = (...a: unknown[]) => {
      const t0 = performance.now();
      const r = fn.apply(b, a);
      // Async results (webgpu readbacks) are timed to their resolution.
      if (r instanceof Promise)
        return r.finally(() => {
          s.calls++;
          s.ms += performance.now() - t0;
        });
      s.calls++;
      s.ms += performance.now() - t0;
      return r;
    };
  }
  return {
    snapshot: () =>
      Object.fromEntries(
        Object.entries(stats)
          .filter(([, v]) => v.calls > 0)
          .map(([k, v]) => [k, { ...v }]),
      ),
    reset: () => {
      for (const v of Object.values(stats)) v.calls = v.ms = 0;
    },
  };
}
