/**
 * DRAM read bandwidth as the wasm kernels see it: the sum_f32 kernel of matmul.wat over a buffer far
 * larger than the caches, split across the same worker pool the matmuls use.
 */
import { loadKernelModule } from '../kernels/wasm/assemble.ts';
import { Arena } from '../kernels/wasm/memory.ts';
import { ThreadPool } from '../kernels/wasm/pool.ts';

export interface BandwidthResult {
  threads: number;
  bytes: number;
  /** Best and median GB/s (1e9 bytes/s) over the passes. */
  bestGBs: number;
  medianGBs: number;
}

export function measureReadBandwidth(threads: number, bytes = 512 << 20, passes = 7): BandwidthResult {
  const pool = new ThreadPool(threads, loadKernelModule());
  try {
    const blocks = Math.floor(bytes / 64);
    const arena = new Arena(bytes + (4 << 20), bytes + (2 << 20));
    const mem = pool.addMemory(arena.memory);
    const base = 1 << 20;
    // Touch every page (and give the adds finite inputs) before timing.
    arena.f32(base, blocks * 16).fill(1);
    const per = Math.ceil(blocks / threads);
    const ranges = Array.from({ length: threads }, (_, i) => [i * per, Math.min(blocks, (i + 1) * per), 1024 + i * 64]);
    pool.run(mem, 'sum_f32', [base], ranges); // warm-up
    const gbs: number[] = [];
    for (let p = 0; p < passes; p++) {
      const t0 = process.hrtime.bigint();
      pool.run(mem, 'sum_f32', [base], ranges);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      gbs.push((blocks * 64) / s / 1e9);
    }
    gbs.sort((a, b) => a - b);
    return { threads, bytes: blocks * 64, bestGBs: gbs[gbs.length - 1], medianGBs: gbs[gbs.length >> 1] };
  } finally {
    pool.dispose();
  }
}
