/**
 * rotate_half RoPE. Angles are formed in JS as Math.fround(pos · invFreq) — HF multiplies positions by
 * inv_freq in float32, and gpu.js' cpu backend would otherwise compute them in float64, which at
 * position ~4096 moves cos/sin by up to ~2e-4. The kernel takes cos/sin of those angles and rotates.
 */
import { expectDim, expectLength } from './check.ts';
import { flatten, input, type GpujsRuntime, type KernelThis } from './runtime.ts';
import { ShapeError } from '../../engine/errors.ts';

function ropeKernel(this: KernelThis, x: Float32Array[][], ang: Float32Array[]): number {
  const c = this.thread.x;
  if (c < this.constants.HALF) {
    const a = ang[this.thread.z][c];
    return x[this.thread.z][this.thread.y][c] * Math.cos(a) - x[this.thread.z][this.thread.y][c + this.constants.HALF] * Math.sin(a);
  }
  const a2 = ang[this.thread.z][c - this.constants.HALF];
  return x[this.thread.z][this.thread.y][c] * Math.cos(a2) + x[this.thread.z][this.thread.y][c - this.constants.HALF] * Math.sin(a2);
}

export async function gpujsRope(
  rt: GpujsRuntime, x: Float32Array, pos: Int32Array, t: number, nHeads: number, headDim: number, invFreq: Float32Array,
): Promise<Float32Array> {
  expectDim('rope', 't', t);
  expectDim('rope', 'nHeads', nHeads);
  expectDim('rope', 'headDim', headDim);
  if (headDim % 2) throw new ShapeError(`gpujs rope: headDim must be even, got ${headDim}`);
  const half = headDim / 2;
  expectLength('rope', 'x', x, t * nHeads * headDim);
  expectLength('rope', 'pos', pos, t);
  expectLength('rope', 'invFreq', invFreq, half);
  const ang = new Float32Array(t * half);
  for (let i = 0; i < t; i++) for (let c = 0; c < half; c++) ang[i * half + c] = Math.fround(pos[i] * invFreq[c]);
  const k = rt.cached(`rope:${t}:${nHeads}:${headDim}`, () =>
    rt.build(ropeKernel as never, { output: [headDim, nHeads, t], constants: { HALF: half } }));
  return flatten(await k(input(x, [headDim, nHeads, t]), input(ang, [half, t])), x.length);
}
