/**
 * gpu.js linear timings: batch-1 y = x·Wᵀ through the gpu.js Backend (weights resident as constants),
 * per mode and format. Prints one JSON object per row: upload (layout + kernel build), first call
 * (module compile + constant upload), the median and the minimum of the following calls (the minimum is
 * the better estimate on a shared, loaded machine).
 *
 *   node --import tsx bench/gpujs-linear.ts [--modes webasm,cpu] [--formats f32,int8,int4] [--shape 4096x11008]
 *                                           [--calls 5] [--threads] [--tokens 1]
 */
import { createGpujsBackend } from '../kernels/gpujs/backend.ts';
import type { GpujsMode } from '../kernels/gpujs/runtime.ts';
import { benchWeight, type BenchFormat } from './gpujs-shapes.ts';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const modes = arg('modes', 'webasm,cpu').split(',') as GpujsMode[];
const formats = arg('formats', 'f32,int8,int4').split(',') as BenchFormat[];
const [k, n] = arg('shape', '4096x11008').split('x').map(Number);
const calls = Number(arg('calls', '5'));
const threads = process.argv.includes('--threads');
/** Tokens per call: 1 = decode (one-token kernel), > 1 = prefill (4-token kernels). */
const tokens = Number(arg('tokens', '1'));

const median = (a: number[]) => a.slice().sort((x, y) => x - y)[a.length >> 1];

for (const mode of modes) {
  const be = await createGpujsBackend(mode, { threads });
  for (const format of formats) {
    const w = benchWeight(format, n, k);
    const x = new Float32Array(tokens * k).map((_, i) => Math.sin(i));
    let t0 = performance.now();
    const h = be.uploadLinear(w);
    const uploadMs = performance.now() - t0;
    t0 = performance.now();
    await be.linear(h, x, tokens);
    const firstMs = performance.now() - t0;
    const times: number[] = [];
    for (let i = 0; i < calls; i++) {
      t0 = performance.now();
      await be.linear(h, x, tokens);
      times.push(performance.now() - t0);
    }
    const ms = median(times);
    console.log(
      JSON.stringify({
        mode,
        threads: be.threads,
        format,
        shape: `${tokens}x${k}x${n}`,
        uploadMs: +uploadMs.toFixed(1),
        firstCallMs: +firstMs.toFixed(1),
        ms: +ms.toFixed(2),
        minMs: +Math.min(...times).toFixed(2),
        gflops: +((2 * tokens * n * k) / ms / 1e6).toFixed(2),
        weightBytes: h.bytes,
      }),
    );
  }
  be.dispose();
}
