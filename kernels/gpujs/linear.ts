/**
 * Linear y = x·Wᵀ (+ bias) as gpu.js kernels with the weight resident as kernel constants, built at
 * upload; each call passes only the gathered, padded input. Output shapes are fixed per kernel — [N]
 * with one token per call (decode), or [N] cells of 4 tokens each (T > 1, padded to blocks of 4) —
 * because webasm keeps one wasm Memory, with its own copy of the constants, per size signature: a
 * [N, T] launch would copy the weights again for every new T, and could not share a weight read across
 * tokens anyway. A handle used for both decode and prefill therefore holds two copies on webasm.
 */
import { checkWeight, weightBytes } from '../formats.ts';
import type { LinearHandle, LinearWeight } from '../types.ts';
import { ShapeError } from '../../engine/errors.ts';
import { expectDim, expectLength } from './check.ts';
import { gatherInput, layoutLinear } from './linear-layout.ts';
import { f32Kernel, f32Kernel4, int4Kernel, int4Kernel4, int8Kernel, int8Kernel4 } from './linear-kernels.ts';
import { input, type GpujsRuntime, type Kernel, type KernelThis, flatten } from './runtime.ts';

/** Tokens per prefill call (the 4-token kernels). */
const BLOCK = 4;

export interface GpujsLinearHandle extends LinearHandle {
  /** One-token kernel (T = 1) and four-token kernel (T > 1); gpu.js instantiates each on first call. */
  readonly kernel: Kernel;
  readonly kernel4: Kernel;
  readonly src: Int32Array;
  dispose(): void;
}

export function uploadGpujsLinear(rt: GpujsRuntime, lw: LinearWeight, name = 'weight'): GpujsLinearHandle {
  try {
    checkWeight(lw, name);
  } catch (e) {
    throw new ShapeError(`gpujs uploadLinear: ${(e as Error).message}`);
  }
  const L = layoutLinear(lw);
  const { n } = lw;
  const constants: Record<string, unknown> = { W: input(L.w, [L.rowLen, n]) };
  let fn: (this: KernelThis, x: Float32Array) => number;
  let fn4: (this: KernelThis, x: Float32Array[]) => number[];
  if (lw.format === 'f32') {
    [fn, fn4] = [f32Kernel, f32Kernel4];
    constants.R = L.rowLen;
  } else {
    [fn, fn4] = lw.format === 'int8' ? [int8Kernel, int8Kernel4] : [int4Kernel, int4Kernel4];
    constants.NG = L.groups;
    constants.S = input(L.scales!, [L.groups, n]);
    if (lw.format === 'int8') constants.GP = L.groupPad;
    else {
      constants.E = L.groupPad / 4;
      constants.Z = input(L.zeros!, [L.groups, n]);
    }
  }
  const kernel = rt.build(fn as never, { output: [n], constants });
  const kernel4 = rt.build(fn4 as never, { output: [n], constants, returnType: 'Array(4)' });
  return {
    n,
    k: lw.k,
    format: lw.format,
    bytes: weightBytes(lw),
    kernel,
    kernel4,
    src: L.src,
    dispose: () => {
      kernel.destroy();
      kernel4.destroy();
    },
  };
}

export async function runGpujsLinear(h: GpujsLinearHandle, x: Float32Array, t: number, bias?: Float32Array | null): Promise<Float32Array> {
  expectDim('linear', 't', t);
  expectLength('linear', 'x', x, t * h.k);
  if (bias) expectLength('linear', 'bias', bias, h.n);
  const { n, k, src } = h;
  const y = new Float32Array(t * n);
  if (t === 1) {
    flatten(await h.kernel(gatherInput(x, 0, k, src, new Float32Array(src.length))), n, y);
  } else {
    // Blocks of 4 tokens; the last block's missing tokens are zero rows whose outputs are dropped.
    const xb = new Float32Array(BLOCK * src.length);
    for (let t0 = 0; t0 < t; t0 += BLOCK) {
      const m = Math.min(BLOCK, t - t0);
      xb.fill(0);
      for (let j = 0; j < m; j++) gatherInput(x, t0 + j, k, src, xb.subarray(j * src.length, (j + 1) * src.length));
      const rows = (await h.kernel4(input(xb, [src.length, BLOCK]))) as Float32Array[];
      if (rows.length !== n) throw new RangeError(`gpu.js returned ${rows.length} rows, expected ${n}`);
      for (let r = 0; r < n; r++) {
        const v = rows[r];
        for (let j = 0; j < m; j++) y[(t0 + j) * n + r] = v[j];
      }
    }
  }
  if (bias) for (let i = 0; i < t; i++) for (let j = 0; j < n; j++) y[i * n + j] += bias[j];
  return y;
}
