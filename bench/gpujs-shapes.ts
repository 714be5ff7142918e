/** Random linear weights in each format for the gpu.js benches (values irrelevant to timing, but finite). */
import type { LinearWeight } from '../kernels/types.ts';

export type BenchFormat = 'f32' | 'int8' | 'int4';

function fill(n: number, f: (i: number) => number): number[] | Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = f(i);
  return a;
}

/** W [n, k]; int8 per-channel scales, int4 group 128 asymmetric (the common GPTQ/AWQ setting). */
export function benchWeight(format: BenchFormat, n: number, k: number): LinearWeight {
  const h = (i: number) => Math.imul(i, 2654435761) >>> 0;
  if (format === 'f32') return { format, n, k, w: fill(n * k, (i) => h(i) / 2 ** 32 - 0.5) as Float32Array };
  if (format === 'int8') {
    const q = new Int8Array(n * k);
    for (let i = 0; i < q.length; i++) q[i] = (h(i) >>> 24) - 128;
    return { format, n, k, groupSize: k, q, scales: new Float32Array(n).fill(0.01) };
  }
  const g = Math.ceil(k / 128);
  const packed = new Uint8Array(n * Math.ceil(k / 2));
  for (let i = 0; i < packed.length; i++) packed[i] = h(i) >>> 24;
  return { format, n, k, groupSize: 128, packed, scales: new Float32Array(n * g).fill(0.01), zeros: new Uint8Array(n * g).fill(8) };
}
