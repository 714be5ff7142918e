/**
 * RMSNorm and the residual add in wasm SIMD (activation.wat `rms_norm`, `add_f32`), run by the pool's threads over
 * rows (elements) in chunks. In JavaScript on the calling thread (V8 widens every f32 to double and back) they were
 * ~4% of a 0.5B scoring forward with the workers idle (`npm run bench:direction-unit -- --profile`; per element:
 * `npm run bench:elementwise`). The kernels do js-ops.ts' arithmetic, in the same order per row and element, so the
 * bits are the same (test/wasm-row-ops.test.ts). Each call copies its inputs into a memory's I/O region and the result
 * out; a call no memory has room for stays in JavaScript.
 */
import type { KernelName, KernelPool } from './pool.ts';
import { align, type Arena } from './memory.ts';
import { WasmKernelError } from './errors.ts';
import * as ops from './js-ops.ts';

/** Below this many elements a call stays in JavaScript on the caller (copies and a dispatch cost ~2 us). */
export const MIN_WASM_ROW_ELEMENTS = 1024;

/** What the row ops need from the backend: a memory with `bytes` free above its weights, and how to run a job. */
export interface RowOpsHost {
  /** Index of a memory whose I/O region holds `bytes` (made if none has room); `what` names the call in errors. */
  place(bytes: number, what: string): number;
  arena(i: number): Arena;
  pool: KernelPool;
  threads: number;
  /** Work (elements) below which a job runs on the caller alone. */
  minWork: number;
  chunksPerThread: number;
}

export function createRowOps(host: RowOpsHost) {
  const { pool, threads } = host;

  /** A memory with `bytes` free, or null when none can hold them (the caller then runs the JS op). */
  function room(bytes: number, what: string): number | null {
    try {
      return host.place(bytes, what);
    } catch (e) {
      if (e instanceof WasmKernelError) return null;
      throw e;
    }
  }

  /** Runs `fn` over [0, total) on memory `ai`: on the caller for small jobs, else in chunks of `unit`-multiples. */
  function run(ai: number, fn: KernelName, args: number[], total: number, work: number, unit: number): void {
    if (threads < 2 || !pool.runChunked || work < host.minWork || total < 2 * unit) {
      pool.run(ai, fn, args, [[0, total, 0]]);
      return;
    }
    const chunk = align(Math.ceil(total / (threads * host.chunksPerThread)), unit);
    pool.runChunked(ai, fn, args, total, chunk, new Array<number>(threads).fill(0));
  }

  function rmsNorm(x: Float32Array, w: Float32Array, t: number, d: number, eps: number, addOne = false, out?: Float32Array): Float32Array {
    const n = t * d;
    if (n < MIN_WASM_ROW_ELEMENTS || x.length < n || w.length < d) return ops.rmsNorm(x, w, t, d, eps, addOne, out);
    const ai = room(2 * align(n * 4, 64) + align(d * 4, 64) + 192, `RMSNorm of ${t} rows x ${d}`);
    if (ai === null) return ops.rmsNorm(x, w, t, d, eps, addOne, out);
    const arena = host.arena(ai);
    const xOff = align(arena.top, 64);
    const wOff = align(xOff + n * 4, 64);
    const yOff = align(wOff + d * 4, 64);
    const hOff = align(yOff + n * 4, 64);
    arena.ensure(hOff + 16);
    const buf = arena.memory.buffer;
    new Float32Array(buf, xOff, n).set(x.subarray(0, n));
    new Float32Array(buf, wOff, d).set(w.subarray(0, d));
    new Float64Array(buf, hOff, 1)[0] = eps;
    new Int32Array(buf, hOff + 8, 1)[0] = addOne ? 1 : 0;
    // Chunks of even rows: the kernel takes rows two at a time (an odd last row costs a pair).
    run(ai, 'rms_norm', [xOff, wOff, yOff, d, hOff], t, n, 2);
    const y = out && out.length === n ? out : new Float32Array(n);
    y.set(new Float32Array(buf, yOff, n));
    return y;
  }

  function add(a: Float32Array, b: Float32Array, out?: Float32Array): Float32Array {
    const n = a.length;
    if (n < MIN_WASM_ROW_ELEMENTS || b.length < n) return ops.add(a, b, out);
    const ai = room(3 * align(n * 4, 64) + 128, `add of ${n} elements`);
    if (ai === null) return ops.add(a, b, out);
    const arena = host.arena(ai);
    const aOff = align(arena.top, 64);
    const bOff = align(aOff + n * 4, 64);
    const yOff = align(bOff + n * 4, 64);
    arena.ensure(yOff + n * 4);
    const buf = arena.memory.buffer;
    new Float32Array(buf, aOff, n).set(a);
    new Float32Array(buf, bOff, n).set(b.subarray(0, n));
    run(ai, 'add_f32', [aOff, bOff, yOff], n, n, 64);
    const y = out && out.length === n ? out : new Float32Array(n);
    y.set(new Float32Array(buf, yOff, n));
    return y;
  }

  return { rmsNorm, add };
}
