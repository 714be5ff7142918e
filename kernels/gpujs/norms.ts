/**
 * rmsNorm / layerNorm as two kernels each: per-row statistics [T] (one pass over the row per cell),
 * then the elementwise apply [d, T]. One fused kernel would recompute a row's statistics in every one
 * of its d cells (d² work per row). Rows are 2-D inputs so no index is flat (B6.1).
 */
import { expectDim, expectLength } from './check.ts';
import { flatten, input, type GpujsRuntime, type KernelThis } from './runtime.ts';

function rmsInvKernel(this: KernelThis, x: Float32Array[]): number {
  let ss = 0;
  for (let c = 0; c < this.constants.D; c++) ss += x[this.thread.x][c] * x[this.thread.x][c];
  return 1 / Math.sqrt(ss / this.constants.D + this.constants.EPS);
}

function rmsApplyKernel(this: KernelThis, x: Float32Array[], inv: Float32Array, w: Float32Array): number {
  return x[this.thread.y][this.thread.x] * inv[this.thread.y] * (this.constants.ADD + w[this.thread.x]);
}

/** Cell (0, t) = mean of row t, cell (1, t) = 1/sqrt(var + eps); both two-pass like the reference. */
function lnStatsKernel(this: KernelThis, x: Float32Array[]): number {
  let m = 0;
  for (let c = 0; c < this.constants.D; c++) m += x[this.thread.y][c];
  m = m / this.constants.D;
  if (this.thread.x === 0) return m;
  let v = 0;
  for (let c = 0; c < this.constants.D; c++) v += (x[this.thread.y][c] - m) * (x[this.thread.y][c] - m);
  return 1 / Math.sqrt(v / this.constants.D + this.constants.EPS);
}

function lnApplyKernel(this: KernelThis, x: Float32Array[], st: Float32Array[], w: Float32Array, b: Float32Array): number {
  return (x[this.thread.y][this.thread.x] - st[this.thread.y][0]) * st[this.thread.y][1] * w[this.thread.x] + b[this.thread.x];
}

export async function gpujsRmsNorm(
  rt: GpujsRuntime,
  x: Float32Array,
  w: Float32Array,
  t: number,
  d: number,
  eps: number,
  addOne = false,
): Promise<Float32Array> {
  expectDim('rmsNorm', 't', t);
  expectDim('rmsNorm', 'd', d);
  expectLength('rmsNorm', 'x', x, t * d);
  expectLength('rmsNorm', 'w', w, d);
  const constants = { D: d, EPS: eps, ADD: addOne ? 1 : 0 };
  const inv = rt.cached(`rmsInv:${t}:${d}:${eps}`, () => rt.build(rmsInvKernel as never, { output: [t], constants }));
  const apply = rt.cached(`rmsApply:${t}:${d}:${addOne}`, () => rt.build(rmsApplyKernel as never, { output: [d, t], constants }));
  const xi = input(x, [d, t]);
  const r = flatten(await inv(xi), t);
  return flatten(await apply(xi, r, w), t * d);
}

export async function gpujsLayerNorm(
  rt: GpujsRuntime,
  x: Float32Array,
  w: Float32Array,
  b: Float32Array,
  t: number,
  d: number,
  eps: number,
): Promise<Float32Array> {
  expectDim('layerNorm', 't', t);
  expectDim('layerNorm', 'd', d);
  expectLength('layerNorm', 'x', x, t * d);
  expectLength('layerNorm', 'w', w, d);
  expectLength('layerNorm', 'b', b, d);
  const constants = { D: d, EPS: eps };
  const stats = rt.cached(`lnStats:${t}:${d}:${eps}`, () => rt.build(lnStatsKernel as never, { output: [2, t], constants }));
  const apply = rt.cached(`lnApply:${t}:${d}`, () => rt.build(lnApplyKernel as never, { output: [d, t], constants }));
  const xi = input(x, [d, t]);
  const st = flatten(await stats(xi), 2 * t);
  return flatten(await apply(xi, input(st, [2, t]), w, b), t * d);
}
