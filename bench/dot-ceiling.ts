/**
 * The integer-dot compute ceiling as the wasm kernels see it: matmul.wat's dot_peak (the int8/int4 prefill tile's
 * inner loop, 2 rows x 4 tokens, on operands that stay in L1) on the same worker pool the matmuls use. Baseline
 * WebAssembly SIMD has one integer dot product, i32x4.dot_i16x8_s (pmaddwd: 8 products), and each needs an
 * i32x4.add, so this rate bounds every kernel built on it (all the integer-dot kernels but the relaxed-SIMD int4
 * decode), whatever the memory does: a prefill GEMM can at best reach it, and a figure above it (ggml's AVX-512 VNNI
 * q8_0 GEMM: 64 products per instruction) is out of reach of this instruction. 1 MAC = 2 FLOP, as in the matmul rows.
 */
import { loadKernelModule } from '../kernels/wasm/assemble.ts';
import { Arena } from '../kernels/wasm/memory.ts';
import { ThreadPool } from '../kernels/wasm/pool.ts';

export interface DotCeilingResult {
  threads: number;
  /** Best and median GFLOP/s (2 per i16 multiply-add) over the timed runs, all threads together. */
  bestGflops: number;
  medianGflops: number;
}

/** k-steps of 8 products per pass: 2 rows x 64 x 16 B + 64 x 64 B = 6 KiB of operands, well inside L1. */
export const DOT_PEAK_LEN = 64;
const OPERAND_BYTES = DOT_PEAK_LEN * 96;

/** Lays out random int16 operands for dot_peak at `base` (weights, then the token quad); returns their offsets. */
export function writeDotPeakOperands(buf: ArrayBufferLike, base: number, seed = 1): { w: number; x: number } {
  const v = new Int16Array(buf, base, OPERAND_BYTES / 2);
  let s = seed >>> 0;
  for (let i = 0; i < v.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    v[i] = (s >>> 8) & 0xffff;
  }
  return { w: base, x: base + DOT_PEAK_LEN * 32 };
}

/**
 * What dot_peak writes after `passes` passes: accumulator (r, c) lane l = passes * sum over k-steps j and lane
 * pairs of w_r[j][2l..2l+1] . x[j][c][2l..2l+1], wrapped to int32 like i32x4.add. Order [c0r0..c3r0, c0r1..c3r1].
 */
export function dotPeakReference(buf: ArrayBufferLike, w: number, x: number, passes: number): Int32Array {
  const W = new Int16Array(buf, w, DOT_PEAK_LEN * 16);
  const X = new Int16Array(buf, x, DOT_PEAK_LEN * 32);
  const out = new Int32Array(32);
  for (let r = 0; r < 2; r++)
    for (let c = 0; c < 4; c++)
      for (let l = 0; l < 4; l++) {
        let acc = 0;
        for (let j = 0; j < DOT_PEAK_LEN; j++)
          for (let e = 2 * l; e < 2 * l + 2; e++) acc = (acc + W[r * DOT_PEAK_LEN * 8 + j * 8 + e] * X[j * 32 + c * 8 + e]) | 0;
        out[(r * 4 + c) * 4 + l] = Math.imul(acc, passes);
      }
  return out;
}

/** A probe with its own worker pool, started once: a pool's first calls include its worker starting up. */
export interface DotCeilingProbe {
  measure(runs?: number, targetMs?: number): DotCeilingResult;
  dispose(): void;
}

export function createDotCeilingProbe(threads: number): DotCeilingProbe {
  const pool = new ThreadPool(threads, loadKernelModule());
  const arena = new Arena(1 << 20, 1 << 20);
  const mem = pool.addMemory(arena.memory);
  const { w, x } = writeDotPeakOperands(arena.memory.buffer, 4096);
  const scratch = (i: number) => 65536 + i * 256;
  const run = (passes: number) => {
    const ranges = Array.from({ length: threads }, (_, i) => [0, passes, scratch(i)]);
    const t0 = process.hrtime.bigint();
    pool.run(mem, 'dot_peak', [w, x, DOT_PEAK_LEN], ranges);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  // Until the workers have run the kernel (started, instantiated, tiered up), a run measures their start-up.
  let passes = 256;
  const warmUntil = performance.now() + 100;
  while (performance.now() < warmUntil) run(passes);
  return {
    measure(runs = 7, targetMs = 60) {
      // Size the passes so one run takes about targetMs (each thread runs all of them on its own core).
      while (run(passes) < targetMs / 4) passes *= 2;
      passes = Math.max(1, Math.round((passes * targetMs) / run(passes)));
      const flopPerRun = threads * passes * DOT_PEAK_LEN * 64 * 2;
      const g = Array.from({ length: runs }, () => flopPerRun / run(passes) / 1e6).sort((a, b) => a - b);
      return { threads, bestGflops: g[g.length - 1], medianGflops: g[g.length >> 1] };
    },
    dispose: () => pool.dispose(),
  };
}

export function measureDotCeiling(threads: number, runs = 7, targetMs = 60): DotCeilingResult {
  const probe = createDotCeilingProbe(threads);
  try {
    return probe.measure(runs, targetMs);
  } finally {
    probe.dispose();
  }
}
