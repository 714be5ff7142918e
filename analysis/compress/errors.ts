import { GlassboxError } from '../../engine/errors.ts';

/** A compression input that cannot be used (shape mismatch, bad setting); the message names the matrix and field. */
export class CompressionError extends GlassboxError {}

/** Throws CompressionError unless `w` holds n*k values and (when given) X holds t*k values. */
export function checkMatrix(name: string, w: Float32Array, n: number, k: number): void {
  if (!(Number.isInteger(n) && Number.isInteger(k) && n > 0 && k > 0))
    throw new CompressionError(`${name}: dims [${n}, ${k}] must be positive integers`);
  if (w.length !== n * k) throw new CompressionError(`${name}: has ${w.length} values, want ${n}x${k}=${n * k}`);
}
