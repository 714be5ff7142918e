/**
 * ThreadPool.runChunked: threads take chunks of rows as they come; a worker that has not claimed the job when the
 * caller runs out of chunks is cancelled rather than waited for. Whatever the split, every row is computed by one
 * thread in a fixed order, so the results equal a single-threaded run bit for bit; a trapping kernel is reported
 * and leaves the pool usable.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadKernelModule } from '../kernels/wasm/assemble.ts';
import { WasmKernelError } from '../kernels/wasm/errors.ts';
import { ThreadPool } from '../kernels/wasm/pool.ts';
import { webWorkerSource } from '../kernels/wasm/web-pool.ts';
import { MAX_ARGS, workerSource } from '../kernels/wasm/worker-source.ts';
import { siluGateRef } from '../kernels/reference/ops.ts';
import { rng } from './helpers/wasm-weights.ts';

describe('ThreadPool.runChunked', () => {
  const pool = new ThreadPool(3, loadKernelModule());
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 64, shared: true });
  pool.addMemory(memory);
  afterAll(() => pool.dispose());

  it('equals a single-threaded run bit for bit over many calls, chunk sizes and row counts', () => {
    const kp = 64;
    const n = 1000;
    const W = 1024;
    const X = W + n * kp * 4;
    const Y = X + kp * 4;
    const r = rng(5);
    new Float32Array(memory.buffer, W, n * kp).set(Float32Array.from({ length: n * kp }, () => r() * 2 - 1));
    new Float32Array(memory.buffer, X, kp).set(Float32Array.from({ length: kp }, () => r() * 2 - 1));
    pool.run(0, 'f32_mv', [W, X, Y, kp], [[0, n, 0]]);
    const want = new Float32Array(memory.buffer, Y, n).slice();
    for (let call = 0; call < 300; call++) {
      const total = 1 + Math.floor(r() * n);
      const chunk = 8 * (1 + Math.floor(r() * 20));
      new Float32Array(memory.buffer, Y, n).fill(NaN);
      pool.runChunked(0, 'f32_mv', [W, X, Y, kp], total, chunk, [0, 0, 0]);
      const got = new Float32Array(memory.buffer, Y, n);
      for (let i = 0; i < total; i++) expect(Object.is(got[i], want[i])).toBe(true);
      expect(Number.isNaN(got[total] ?? NaN)).toBe(true); // rows past total untouched
    }
  });

  it('reports a trapping kernel and stays usable', () => {
    const oob = 64 * 65536; // past the end of the memory
    expect(() => pool.runChunked(0, 'f32_mv', [oob, oob, oob, 16], 64, 8, [0, 0, 0])).toThrow(WasmKernelError);
    expect(() => pool.runChunked(0, 'f32_mv', [oob, oob, oob, 16], 64, 8, [0, 0, 0])).toThrow(/wasm-simd kernel f32_mv: /);
    // One chunk: the caller alone runs it, and names the kernel the same way.
    expect(() => pool.runChunked(0, 'f32_mv', [oob, oob, oob, 16], 8, 8, [0, 0, 0])).toThrow(/wasm-simd kernel f32_mv: /);
    pool.runChunked(0, 'f32_mv', [1024, 1024, 4096, 16], 64, 8, [0, 0, 0]);
  });

  it("names the worker and gives the worker's own message when only a worker's share traps", () => {
    const oob = 64 * 65536;
    // The caller's rows are empty; both workers' rows write past the end of the memory (the first failure is named).
    expect(() =>
      pool.run(
        0,
        'tr_bias',
        [1024, 1, 16, 0, oob, 16],
        [
          [0, 0, 0],
          [0, 1, 0],
          [1, 2, 0],
        ],
      ),
    ).toThrow(/wasm-simd kernel tr_bias: trapped in worker 1: .*out of bounds/);
    pool.run(
      0,
      'tr_bias',
      [1024, 1, 16, 0, 4096, 16],
      [
        [0, 1, 0],
        [1, 2, 0],
        [2, 3, 0],
      ],
    );
  });

  it('runs nothing in a worker that reads memory.buffer', () => {
    // A worker's buffer object for a shared memory can keep an old length after a grow (kernels/README.md, "Only wasm
    // in the pool's threads"); only wasm code, which reads the memory itself, may run there.
    for (const src of [workerSource, webWorkerSource]) expect(src).not.toMatch(/\.buffer\b/);
  });

  it('refuses more arguments than a worker slot holds, naming the kernel', () => {
    const args = Array.from({ length: MAX_ARGS }, () => 0);
    expect(() => pool.runChunked(0, 'f32_mv', args, 64, 8, [0, 0, 0])).toThrow(/wasm-simd backend: f32_mv with \d+ arguments/);
  });

  it('hands a worker memory offsets past 2 GiB as they are (they travel as int32)', () => {
    // A 0.5B f32 model and its int8 copy in one backend put activations above 2 GiB; a JS kernel got the offsets
    // as negative int32s and threw. Only the pages written here are touched, so the memory costs little.
    const big = new WebAssembly.Memory({ initial: 32768 + 2, maximum: 32768 + 2, shared: true });
    const mem = pool.addMemory(big);
    const n = 4096;
    const [G, U, Y] = [0, 1, 2].map((i) => 2 ** 31 + 64 + i * n * 4);
    const r = rng(9);
    const g = Float32Array.from({ length: n }, () => r() * 8 - 4);
    const u = Float32Array.from({ length: n }, () => r() * 2 - 1);
    new Float32Array(big.buffer, G, n).set(g);
    new Float32Array(big.buffer, U, n).set(u);
    const want = siluGateRef(g, u);
    // Every worker gets a range of its own (run), then chunks as they come (runChunked).
    pool.run(
      mem,
      'silu_gate',
      [G, U, Y],
      [0, 1, 2].map((i) => [(i * n) / 4, ((i + 1) * n) / 4]),
    );
    const got = new Float32Array(big.buffer, Y, n);
    for (let i = 0; i < (3 * n) / 4; i++) expect(Object.is(got[i], want[i])).toBe(true);
    got.fill(NaN);
    pool.runChunked(mem, 'silu_gate', [G, U, Y], n, 64, [0, 0, 0]);
    for (let i = 0; i < n; i++) expect(Object.is(got[i], want[i])).toBe(true);
    // Wasm reads the 32 bits unsigned anyway; the JS kernels (tr_bias was one, until 2026-12-04) were the ones that
    // threw: tr_bias (y [8, 512] rows plus a bias) through every thread.
    const rows = 8;
    const w = 512;
    const B = 2 ** 31 + 64 + 3 * n * 4;
    const O = B + w * 4 + 64;
    new Float32Array(big.buffer, B, w).set(u.subarray(0, w));
    pool.run(
      mem,
      'tr_bias',
      [G, 1, w, B, O, w],
      [0, 1, 2].map((i) => [i * 3, Math.min(rows, (i + 1) * 3), 0]),
    );
    const o = new Float32Array(big.buffer, O, rows * w);
    for (let i = 0; i < rows * w; i++) expect(Object.is(o[i], Math.fround(g[i] + u[i % w]))).toBe(true);
  });

  it('refuses to run after dispose()', () => {
    const p = new ThreadPool(2, loadKernelModule());
    p.addMemory(new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }));
    p.dispose();
    expect(() => p.runChunked(0, 'f32_mv', [0, 0, 0, 16], 64, 8, [0, 0])).toThrow(/used after dispose/);
  });
});
