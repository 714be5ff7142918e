/** Random Linear weights for the wasm kernel tests: value profiles that stress rounding and edge cases. */
import { afterAll } from 'vitest';
import { bf16Narrow } from '../../kernels/formats.ts';
import type { LinearWeight } from '../../kernels/types.ts';
import { createWasmSimdBackend } from '../../kernels/wasm/backend.ts';

export type Profile = 'normal' | 'zeros' | 'sparse' | 'large' | 'tiny';
export type ZeroMode = 'random' | 'all0' | 'all15' | 'alternate' | 'symmetric';

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function magnitudes(p: Profile): { x: number; w: number } {
  // large: products up to ~1e20, sums far from f32 overflow; tiny: products near the subnormal range.
  if (p === 'large') return { x: 1e15, w: 1e3 };
  if (p === 'tiny') return { x: 1e-20, w: 1e-18 };
  return { x: 1, w: 1 };
}

export function randomX(len: number, p: Profile, r: () => number): Float32Array {
  const m = magnitudes(p).x;
  return Float32Array.from({ length: len }, () => (p === 'zeros' ? 0 : p === 'sparse' && r() < 0.7 ? 0 : (r() * 2 - 1) * m));
}

export function randomWeight(
  format: LinearWeight['format'],
  n: number,
  k: number,
  groupSize: number,
  p: Profile,
  zm: ZeroMode,
  withPerm: boolean,
  r: () => number,
): LinearWeight {
  const m = magnitudes(p).w;
  const perm = withPerm ? shuffled(k, r) : null;
  const val = () => (p === 'zeros' ? 0 : p === 'sparse' && r() < 0.7 ? 0 : 1);
  if (format === 'f32') return { format, n, k, w: Float32Array.from({ length: n * k }, () => val() * (r() * 2 - 1) * m), perm };
  if (format === 'bf16') {
    // Random bf16 patterns of finite values in the profile's range (the f32 values rounded to bf16).
    const f = Float32Array.from({ length: n * k }, () => val() * (r() * 2 - 1) * m);
    return { format, n, k, w: bf16Narrow(f), perm };
  }
  const g = Math.ceil(k / groupSize);
  const scales = Float32Array.from({ length: n * g }, () => (r() * 1.9 + 0.1) * m * (r() < 0.5 ? -1 : 1));
  if (format === 'int8') {
    const q = Int8Array.from({ length: n * k }, () => val() * (Math.floor(r() * 256) - 128));
    return { format, n, k, groupSize, q, scales, perm };
  }
  const packed = Uint8Array.from({ length: n * Math.ceil(k / 2) }, () => (p === 'zeros' ? 0 : Math.floor(r() * 256)));
  const zeros =
    zm === 'symmetric'
      ? null
      : Uint8Array.from({ length: n * g }, (_, i) =>
          zm === 'all0' ? 0 : zm === 'all15' ? 15 : zm === 'alternate' ? (i & 1) * 15 : Math.floor(r() * 16),
        );
  return { format, n, k, groupSize, packed, scales, zeros, perm };
}

function shuffled(k: number, r: () => number): Int32Array {
  const a = Int32Array.from({ length: k }, (_, i) => i);
  for (let i = k - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * A wasm-simd backend disposed after the test file (terminates its worker threads). Exact f32-activation
 * kernels unless opts.exact is false (the suites comparing with linearRef's f32 bound test those kernels;
 * test/wasm-dot.test.ts tests the integer-dot ones).
 */
export function trackedBackend(opts: Parameters<typeof createWasmSimdBackend>[0]): ReturnType<typeof createWasmSimdBackend> {
  const b = createWasmSimdBackend({ exact: true, ...opts });
  tracked.push(b);
  return b;
}
const tracked: { dispose(): void }[] = [];
afterAll(() => tracked.splice(0).forEach((b) => b.dispose()));
