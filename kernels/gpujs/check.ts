/** Argument-size checks shared by the gpu.js ops: a wrong length is a ShapeError naming op and argument. */
import { ShapeError } from '../../engine/errors.ts';

export function expectLength(op: string, arg: string, a: ArrayLike<number>, want: number): void {
  if (a.length !== want) throw new ShapeError(`gpujs ${op}: ${arg} has ${a.length} values, expected ${want}`);
}

export function expectDim(op: string, field: string, v: number): void {
  if (!(Number.isInteger(v) && v > 0)) throw new ShapeError(`gpujs ${op}: ${field} must be a positive integer, got ${v}`);
}
