/**
 * The compute-ceiling probe of bench:matmul (matmul.wat dot_peak) computes the tile's dot products for real, so its
 * rate cannot come from work V8 removed: its accumulators equal an integer reference, on one thread and on the pool.
 */
import { describe, expect, it } from 'vitest';
import { DOT_PEAK_LEN, dotPeakReference, writeDotPeakOperands } from '../bench/dot-ceiling.ts';
import { loadKernelModule } from '../kernels/wasm/assemble.ts';
import { ThreadPool } from '../kernels/wasm/pool.ts';

describe('dot_peak', () => {
  it('accumulates passes x the 2x4 tile of int16 dot products (int32 wrap-around included)', () => {
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });
    const k = new WebAssembly.Instance(loadKernelModule(), { env: { memory } }).exports as Record<string, (...a: number[]) => void>;
    for (const [seed, passes] of [
      [1, 1],
      [7, 3],
      [11, 1000],
    ]) {
      const { w, x } = writeDotPeakOperands(memory.buffer, 1024, seed);
      const out = new Int32Array(memory.buffer, 131072, 32).fill(-1);
      k.dot_peak(w, x, DOT_PEAK_LEN, 0, passes, 131072);
      expect(Array.from(out)).toEqual(Array.from(dotPeakReference(memory.buffer, w, x, passes)));
    }
    // The extremes: -32768 * -32768 twice is pmaddwd's one overflow, which wraps like the reference.
    new Int16Array(memory.buffer, 1024, DOT_PEAK_LEN * 48).fill(-32768);
    k.dot_peak(1024, 1024 + DOT_PEAK_LEN * 32, DOT_PEAK_LEN, 0, 2, 131072);
    expect(Array.from(new Int32Array(memory.buffer, 131072, 32))).toEqual(
      Array.from(dotPeakReference(memory.buffer, 1024, 1024 + DOT_PEAK_LEN * 32, 2)),
    );
  });

  it('runs on every thread of the pool, each with its own result', () => {
    const pool = new ThreadPool(2, loadKernelModule());
    try {
      const memory = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });
      const mem = pool.addMemory(memory);
      const { w, x } = writeDotPeakOperands(memory.buffer, 1024, 5);
      pool.run(
        mem,
        'dot_peak',
        [w, x, DOT_PEAK_LEN],
        [
          [0, 4, 131072],
          [0, 9, 131072 + 256],
        ],
      );
      expect(Array.from(new Int32Array(memory.buffer, 131072, 32))).toEqual(Array.from(dotPeakReference(memory.buffer, w, x, 4)));
      expect(Array.from(new Int32Array(memory.buffer, 131072 + 256, 32))).toEqual(Array.from(dotPeakReference(memory.buffer, w, x, 9)));
    } finally {
      pool.dispose();
    }
  });
});
