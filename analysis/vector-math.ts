/**
 * Vector math shared by every command: the one `norm`, `cosine` and `unit` of the project. Sums are accumulated in
 * f64 whatever the input's type, so a cosine of f32 activations is not limited by f32 rounding.
 */
import { GlassboxError } from '../engine/errors.ts';

/** Euclidean norm |v|. */
export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** cos(a, b) = a·b / sqrt(|a|² |b|²); null when either vector is zero (or holds NaN): the angle is undefined. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  if (!(aa > 0 && bb > 0)) return null;
  return ab / Math.sqrt(aa * bb);
}

export interface UnitOptions {
  /**
   * Divide by |r| + epsilon and never throw: Arditi et al.'s hook_utils convention (epsilon 1e-8), which the
   * intervention hooks follow so their f32 directions match the reference bit for bit.
   */
  epsilon?: number;
  /** What the vector is, for the error message (default 'direction'). */
  name?: string;
}

/** r / |r| in f64. Without `epsilon`, a zero or non-finite norm is an error naming `name`. */
export function unit(r: ArrayLike<number>, opts: UnitOptions = {}): Float64Array {
  const n = norm(r);
  if (opts.epsilon !== undefined) {
    const d = n + opts.epsilon;
    return Float64Array.from(r, (x) => x / d);
  }
  if (!(n > 0) || !Number.isFinite(n)) throw new GlassboxError(`${opts.name ?? 'direction'} has zero or non-finite norm`);
  return Float64Array.from(r, (x) => x / n);
}
