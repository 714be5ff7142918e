/**
 * Elementwise ops (siluGate, gelu, add) over flat arrays. Launches are 1-D in chunks of at most 2^24
 * cells: webasm forms indices in f32, exact only up to 2^24 (B6.1); one kernel per distinct chunk length.
 */
import { ShapeError } from '../../engine/errors.ts';
import { flatten, type GpujsRuntime, type Kernel, type KernelThis } from './runtime.ts';

export const MAX_CHUNK = 1 << 24;

function siluGateKernel(this: KernelThis, g: Float32Array, u: Float32Array): number {
  return (g[this.thread.x] / (1 + Math.exp(-g[this.thread.x]))) * u[this.thread.x];
}

// The tanh argument is clamped: tanh(±15) is ±1 in f32 already, and some WGSL tanh implementations
// return NaN for large arguments.
function geluKernel(this: KernelThis, x: Float32Array): number {
  const v = x[this.thread.x];
  const z = Math.min(15, Math.max(-15, 0.7978845608028654 * (v + 0.044715 * v * v * v)));
  return 0.5 * v * (1 + Math.tanh(z));
}

function addKernel(this: KernelThis, a: Float32Array, b: Float32Array): number {
  return a[this.thread.x] + b[this.thread.x];
}

async function chunked(
  rt: GpujsRuntime,
  name: string,
  fn: (...a: never[]) => number,
  args: Float32Array[],
  chunk = MAX_CHUNK,
): Promise<Float32Array> {
  const len = args[0].length;
  for (let i = 1; i < args.length; i++)
    if (args[i].length !== len)
      throw new ShapeError(`gpujs ${name}: argument ${i + 1} has ${args[i].length} values, argument 1 has ${len}`);
  const y = new Float32Array(len);
  for (let o = 0; o < len; o += chunk) {
    const n = Math.min(chunk, len - o);
    const k: Kernel = rt.cached(`${name}:${n}`, () => rt.build(fn, { output: [n] }));
    const part = await k(...args.map((a) => a.subarray(o, o + n)));
    flatten(part, n, y.subarray(o, o + n));
  }
  return y;
}

export const gpujsSiluGate = (rt: GpujsRuntime, gate: Float32Array, up: Float32Array, chunk?: number) =>
  chunked(rt, 'siluGate', siluGateKernel as never, [gate, up], chunk);
export const gpujsGelu = (rt: GpujsRuntime, x: Float32Array, chunk?: number) => chunked(rt, 'gelu', geluKernel as never, [x], chunk);
export const gpujsAdd = (rt: GpujsRuntime, a: Float32Array, b: Float32Array, chunk?: number) =>
  chunked(rt, 'add', addKernel as never, [a, b], chunk);
