/**
 * rotate_half RoPE. Angles are formed in JS as Math.fround(pos · invFreq) — HF multiplies positions by
 * inv_freq in float32 — and their cos/sin are taken in JS too: WGSL's sin/cos on NVIDIA (webgpu, H100)
 * lose precision for large angles (7.6e-4 relative error measured at positions ~100s, against 1e-5 for
 * every other op), and the tables are only T·headDim/2 values. The kernel only rotates.
 */
import { expectDim, expectLength } from './check.ts';
import { flatten, input, type GpujsRuntime, type KernelThis } from './runtime.ts';
import { ShapeError } from '../../engine/errors.ts';

function ropeKernel(this: KernelThis, x: Float32Array[][], cos: Float32Array[], sin: Float32Array[]): number {
  const c = this.thread.x;
  if (c < this.constants.HALF) {
    return (
      x[this.thread.z][this.thread.y][c] * cos[this.thread.z][c] -
      x[this.thread.z][this.thread.y][c + this.constants.HALF] * sin[this.thread.z][c]
    );
  }
  const c2 = c - this.constants.HALF;
  return x[this.thread.z][this.thread.y][c] * cos[this.thread.z][c2] + x[this.thread.z][this.thread.y][c2] * sin[this.thread.z][c2];
}

export async function gpujsRope(
  rt: GpujsRuntime,
  x: Float32Array,
  pos: Int32Array,
  t: number,
  nHeads: number,
  headDim: number,
  invFreq: Float32Array,
): Promise<Float32Array> {
  expectDim('rope', 't', t);
  expectDim('rope', 'nHeads', nHeads);
  expectDim('rope', 'headDim', headDim);
  if (headDim % 2) throw new ShapeError(`gpujs rope: headDim must be even, got ${headDim}`);
  const half = headDim / 2;
  expectLength('rope', 'x', x, t * nHeads * headDim);
  expectLength('rope', 'pos', pos, t);
  expectLength('rope', 'invFreq', invFreq, half);
  const cos = new Float32Array(t * half);
  const sin = new Float32Array(t * half);
  for (let i = 0; i < t; i++)
    for (let c = 0; c < half; c++) {
      const a = Math.fround(pos[i] * invFreq[c]);
      cos[i * half + c] = Math.cos(a);
      sin[i * half + c] = Math.sin(a);
    }
  const k = rt.cached(`rope:${t}:${nHeads}:${headDim}`, () =>
    rt.build(ropeKernel as never, { output: [headDim, nHeads, t], constants: { HALF: half } }),
  );
  return flatten(await k(input(x, [headDim, nHeads, t]), input(cos, [half, t]), input(sin, [half, t])), x.length);
}
