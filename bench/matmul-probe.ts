/**
 * The machine's matmul rate inside a benchmark run, so its wall times can be read against the machine's state at
 * that moment (this VM has slow periods): an N x K weight at the run's precision (random values; only the speed is
 * read) times `rows` activation rows, the median of 7 calls after a warm-up.
 */
import { quantizeInt4, quantizeInt8 } from '../kernels/quantize.ts';
import type { Backend } from '../kernels/types.ts';

export async function matmulProbe(backend: Backend, precision: string, n: number, k: number, rows: number) {
  const r = Float32Array.from({ length: n * k }, (_, i) => Math.sin(i * 0.37));
  const w = precision === 'int8' ? quantizeInt8(r, n, k) : precision === 'int4' ? quantizeInt4(r, n, k, 128, { sym: false }) : null;
  const h = backend.uploadLinear(w ?? { format: 'f32', n, k, w: r });
  const x = Float32Array.from({ length: rows * k }, (_, i) => Math.cos(i * 0.11));
  await backend.linear(h, x, rows);
  const ms: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    await backend.linear(h, x, rows);
    ms.push(performance.now() - t0);
  }
  const median = ms.sort((a, b) => a - b)[3];
  return {
    shape: `${rows}x${k}x${n}`,
    precision: w ? precision : 'f32',
    calls: 7,
    medianMs: median,
    gflops: (2 * rows * n * k) / (median * 1e6),
  };
}
