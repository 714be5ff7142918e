/**
 * The 'wasm-simd' Backend: Linear layers run on the hand-written WebAssembly SIMD kernels
 * (matmul.wat) over resident, repacked weights in shared memories, split across a worker pool by
 * output rows. The other ops run as plain f32 JS (js-ops.ts).
 */
import { integerFromEnv } from '../../engine/numbers.ts';
import { availableParallelism } from 'node:os';
import { activationMax } from '../dot-quant.ts';
import { checkWeight } from '../formats.ts';
import type { AttentionArgs, Backend, LinearHandle, LinearWeight } from '../types.ts';
import { loadKernelModule } from './assemble.ts';
import { WasmKernelError } from './errors.ts';
import { attentionBytes, attentionIn, type AttentionRows } from './attention.ts';
import * as ops from './js-ops.ts';
import { createRowOps } from './row-ops.ts';
import { Arena, MAX_MEMORY_BYTES, align } from './memory.ts';
import { gatherIndex, gatherInput, gatherQuads, packedLayout, writePacked, type PackedLayout } from './pack.ts';
import { dotGather, dotLayout, writeDotDecodeX, writeDotPacked, type DotLayout } from './pack-dot.ts';
import { ThreadPool, type KernelName, type KernelPool } from './pool.ts';
import { loadRelaxedKernels } from './relaxed.ts';

export interface WasmSimdOptions {
  /** Participating threads, the caller's included (default GLASSBOX_THREADS, else os.availableParallelism()). */
  threads?: number;
  /** Bytes per WebAssembly.Memory (default and maximum 4 GiB); weights beyond it go to further memories. */
  maxMemoryBytes?: number;
  /** Multiply-adds below which a call stays on the caller (default 2^18: waking a worker costs ~10 µs). */
  minThreadedWork?: number;
  /** Byte offset where weights start in each memory (default 1024; tests put it above 2 GiB). */
  firstOffset?: number;
  /**
   * Exact f32-activation kernels for int8/int4 (default: GLASSBOX_EXACT=1, else false: int8/int4 run the
   * integer-dot kernels, activations quantized to int16 per block, kernels/dot-quant.ts).
   */
  exact?: boolean;
  /**
   * int4 decode on relaxed SIMD's 8-bit dot (i4q_mv: activations quantized to int8 per block of <= 128, error
   * <= absmax/254, kernels/dot-quant.ts), when the engine has it and its self-test passes (relaxed.ts); else the
   * int16 kernels, with the reason in `relaxedSimd.reason`. Default GLASSBOX_RELAXED_SIMD=1, else false.
   */
  relaxedSimd?: boolean;
  /** The compiled kernels (default: loadKernelModule(), from kernels/wasm/build/; the web app fetches its own). */
  module?: WebAssembly.Module;
  /** Shared memories (default true; a browser page without cross-origin isolation has no SharedArrayBuffer). */
  sharedMemory?: boolean;
  /** The thread pool (default: Node worker_threads; the web app passes a Web Worker pool). */
  pool?: (threads: number, module: WebAssembly.Module) => KernelPool;
}

/** Chunks per participating thread in a threaded call (see dispatch). */
const CHUNKS_PER_THREAD = 4;
/**
 * Prefill matmuls take finer chunks: a chunk of 32x896x9728 (the 0.5B's gate|up) at 4 per thread is ~1 ms, and the
 * thread that finishes first waits out the other's last one; 16 per thread measured 4.1 instead of 4.3 ms there (2
 * threads, medians of 100 calls, alternating). Decode keeps 4: its chunks are ~10 us, and 16 per thread measured
 * slower (1x4864x896: 0.13-0.17 against 0.10-0.11 ms).
 */
const PREFILL_CHUNKS_PER_THREAD = 16;

/** Elements below which siluGate stays on the caller (a pooled call costs ~5 us of copies and wake-ups). */
const MIN_POOLED_SILU = 2048;

/** Rows a prefill kernel dequantizes at a time into each thread's scratch (matmul.wat). */
const ROWS_PER_BLOCK = 8;

/**
 * Below this many multiply-adds a call runs on the calling thread alone: ~16 µs of int8 work, about
 * what waking a worker costs here (1x192x512 int8 took 14 µs on 1 thread, 24 µs on 2).
 */
const MIN_THREADED_WORK = 1 << 18;
/** An element of the result kernels (transpose, silu·up with its exp) counted as this many multiply-adds. */
const ELEMENTWISE_WORK = 64;

/** Where an uploaded weight lives and how its kernels read it. */
interface WasmLinearParts {
  owner: symbol;
  n: number;
  k: number;
  format: LinearWeight['format'];
  /** Bytes of resident weight data (what a matvec streams). */
  bytes: number;
  /** Index of the arena (wasm memory) holding it. */
  arena: number;
  /** Byte offsets of the packed weights, scales and zero points (0 when there are none). */
  wOff: number;
  sOff: number;
  zOff: number;
  /** Exact f32-activation layout (f32 weights, or any format with `exact`), else null. */
  layout: PackedLayout | null;
  /** Integer-dot layout (int8 / int4 by default), else null. */
  dot: DotLayout | null;
  /** Padded position -> source column of x (perm applied; -1 for pads); null when x is used as it is. */
  gather: Int32Array | null;
  /** Integer-dot layout only: byte offset of `gather` kept resident in the arena (the prefill quantizer reads it). */
  gOff: number;
}

class WasmLinear implements LinearHandle {
  readonly owner: symbol;
  readonly n: number;
  readonly k: number;
  readonly format: LinearWeight['format'];
  readonly bytes: number;
  constructor(readonly parts: WasmLinearParts) {
    this.owner = parts.owner;
    this.n = parts.n;
    this.k = parts.k;
    this.format = parts.format;
    this.bytes = parts.bytes;
  }
}

/** GLASSBOX_EXACT=1 selects the exact f32-activation kernels for int8/int4 (0 or unset: integer-dot). */
// A browser page has no process: there the default is the integer-dot kernels.
export function exactFromEnv(env: NodeJS.ProcessEnv = typeof process === 'undefined' ? {} : process.env): boolean {
  const v = env.GLASSBOX_EXACT;
  if (v === undefined || v === '' || v === '0') return false;
  if (v === '1') return true;
  throw new WasmKernelError(`GLASSBOX_EXACT=${v}: expected 1 (exact f32-activation kernels) or 0`);
}

/** GLASSBOX_RELAXED_SIMD=1 asks for the relaxed-SIMD int4 kernel (0 or unset: the int16 kernels). */
export function relaxedFromEnv(env: NodeJS.ProcessEnv = typeof process === 'undefined' ? {} : process.env): boolean {
  const v = env.GLASSBOX_RELAXED_SIMD;
  if (v === undefined || v === '' || v === '0') return false;
  if (v === '1') return true;
  throw new WasmKernelError(`GLASSBOX_RELAXED_SIMD=${v}: expected 1 (relaxed-SIMD int4 kernel, 8-bit activations) or 0`);
}

/** More workers than this never helps (each holds a wasm instance); a typo such as 1000000 is refused. */
export const MAX_THREADS = 256;

export function defaultThreads(): number {
  return integerFromEnv(process.env, 'GLASSBOX_THREADS', { min: 1, max: MAX_THREADS }) ?? availableParallelism();
}

export interface WasmSimdBackend extends Backend {
  /** Number of WebAssembly memories in use (grows past 1 only when weights exceed maxMemoryBytes). */
  readonly memories: number;
  /** True when int8/int4 run the exact f32-activation kernels instead of the integer-dot ones. */
  readonly exact: boolean;
  /** Whether int4 runs the relaxed-SIMD 8-bit-activation kernels, and if asked for but not, why not. */
  readonly relaxedSimd: { enabled: boolean; reason: string | null };
  /** Synchronous here (no device readback). */
  linear(h: LinearHandle, x: Float32Array, t: number, bias?: Float32Array | null, out?: Float32Array): Float32Array;
  linearGated(h: LinearHandle, x: Float32Array, t: number, bias?: Float32Array | null, out?: Float32Array): Float32Array;
  rmsNorm(x: Float32Array, w: Float32Array, t: number, d: number, eps: number, addOne?: boolean, out?: Float32Array): Float32Array;
  add(a: Float32Array, b: Float32Array, out?: Float32Array): Float32Array;
}

export function createWasmSimdBackend(opts: WasmSimdOptions = {}): WasmSimdBackend {
  const threads = Math.max(1, Math.floor(opts.threads ?? defaultThreads()));
  const shared = opts.sharedMemory ?? true;
  const maxBytes = Math.min(MAX_MEMORY_BYTES, opts.maxMemoryBytes ?? MAX_MEMORY_BYTES);
  if (!(maxBytes >= 65536)) throw new WasmKernelError(`wasm-simd backend: maxMemoryBytes ${opts.maxMemoryBytes} is below one 64 KiB page`);
  const minWork = opts.minThreadedWork ?? MIN_THREADED_WORK;
  const exact = opts.exact ?? exactFromEnv();
  const wantRelaxed = !exact && (opts.relaxedSimd ?? relaxedFromEnv());
  const relaxedSimd = { enabled: false, reason: wantRelaxed ? null : 'not requested (GLASSBOX_RELAXED_SIMD=1)' } as {
    enabled: boolean;
    reason: string | null;
  };
  let module = opts.module;
  if (wantRelaxed && !module) {
    const r = loadRelaxedKernels();
    if (r.module) {
      module = r.module;
      relaxedSimd.enabled = true;
    } else relaxedSimd.reason = r.reason;
  } else if (wantRelaxed) relaxedSimd.reason = 'a caller-supplied kernel module is in use';
  module ??= loadKernelModule();
  const pool = opts.pool ? opts.pool(threads, module) : new ThreadPool(threads, module);
  const arenas: Arena[] = [];
  const owner = Symbol('wasm-simd');

  function place(sizes: number[], reserve: number, what: string): [number, number[]] {
    for (let i = 0; i < arenas.length; i++) {
      const offs = arenas[i].alloc(sizes, reserve);
      if (offs) return [i, offs];
    }
    const first = align(Math.max(1024, opts.firstOffset ?? 1024), 64);
    const need = sizes.reduce((a, s) => a + align(s, 64), 0) + first + reserve;
    if (need > maxBytes) throw new WasmKernelError(`${what}: needs ${need} bytes of wasm memory, more than one memory holds (${maxBytes})`);
    const arena = new Arena(maxBytes, need, first, shared);
    arenas.push(arena);
    if (pool.addMemory(arena.memory) !== arenas.length - 1) throw new Error('wasm-simd: memory index out of step');
    return [arenas.length - 1, arena.alloc(sizes, reserve)!];
  }

  const rows = createRowOps({
    place: (bytes, what) => place([], bytes, what)[0],
    arena: (i) => arenas[i],
    pool,
    threads,
    minWork: minWork / ELEMENTWISE_WORK,
    chunksPerThread: CHUNKS_PER_THREAD,
  });

  function uploadLinear(w: LinearWeight): LinearHandle {
    const what = `linear ${w?.format} [${w?.n}, ${w?.k}]`;
    try {
      checkWeight(w, what);
    } catch (e) {
      throw new WasmKernelError((e as Error).message);
    }
    if (w.perm)
      for (let c = 0; c < w.k; c++) {
        const v = w.perm[c];
        if (!(Number.isInteger(v) && v >= 0 && v < w.k)) throw new WasmKernelError(`${what}: perm[${c}] = ${v} is outside [0, ${w.k})`);
      }
    if (!exact && (w.format === 'int8' || w.format === 'int4')) {
      const D = dotLayout(w, relaxedSimd.enabled && w.format === 'int4' ? 8 : 16);
      const { kp, nb } = D.blocking;
      // One 4-token prefill chunk (linearDot's room): x, scales, result, x in f32 / staged out, scratch, bias.
      const reserve = 4 * (kp * 2 + nb * 4 + D.np * 4 + Math.max(w.k, w.n) * 4) + threads * ROWS_PER_BLOCK * kp * 2 + w.n * 4 + 2048;
      const gather = dotGather(w, D.bits);
      const [ai, [wOff, sOff, zOff, gOff]] = place([D.weightBytes, D.scaleBytes, D.zeroBytes, kp * 4], reserve, what);
      writeDotPacked(w, D, arenas[ai].memory.buffer, wOff, sOff, zOff);
      new Int32Array(arenas[ai].memory.buffer, gOff, kp).set(gather);
      const bytes = D.weightBytes + D.scaleBytes + D.zeroBytes;
      return new WasmLinear({
        owner,
        n: w.n,
        k: w.k,
        format: w.format,
        bytes,
        arena: ai,
        wOff,
        sOff,
        zOff: D.zeroBytes ? zOff : 0,
        layout: null,
        dot: D,
        gather,
        gOff,
      });
    }
    const L = packedLayout(w);
    // Room left above every weight for one token quad's I/O (x, y, scratch), so any call can proceed in chunks.
    const reserve = (L.kp * (4 + threads * ROWS_PER_BLOCK) + 7 * L.n) * 4 + 2048; // room for a few tokens (linearExact)
    const [ai, [wOff, sOff, zOff]] = place([L.weightBytes, L.scaleBytes, L.zeroBytes], reserve, what);
    writePacked(w, L, arenas[ai].memory.buffer, wOff, sOff, zOff);
    const bytes = L.weightBytes + L.scaleBytes + L.zeroBytes;
    return new WasmLinear({
      owner,
      n: w.n,
      k: w.k,
      format: w.format,
      bytes,
      arena: ai,
      wOff,
      sOff,
      zOff: L.zeroBytes ? zOff : 0,
      layout: L,
      dot: null,
      gather: gatherIndex(w, L),
      gOff: 0,
    });
  }

  function checkCall(handle: LinearHandle, x: Float32Array, t: number, bias?: Float32Array | null): WasmLinearParts {
    if (!(handle instanceof WasmLinear) || handle.owner !== owner)
      throw new WasmKernelError('linear: handle was not uploaded to this wasm-simd backend');
    const { n, k, format } = handle;
    if (!(Number.isInteger(t) && t >= 1) || x.length !== t * k)
      throw new WasmKernelError(`linear ${format} [${n}, ${k}]: x has ${x.length} values for T=${t} (want T*K = ${t * k})`);
    if (bias && bias.length !== n) throw new WasmKernelError(`linear ${format} [${n}, ${k}]: bias has ${bias.length} values (want ${n})`);
    return handle.parts;
  }

  function linear(handle: LinearHandle, x: Float32Array, t: number, bias?: Float32Array | null, dst?: Float32Array): Float32Array {
    return linearRun(handle, x, t, bias, dst, false);
  }

  function linearGated(handle: LinearHandle, x: Float32Array, t: number, bias?: Float32Array | null, dst?: Float32Array): Float32Array {
    return linearRun(handle, x, t, bias, dst, true);
  }

  function linearRun(
    handle: LinearHandle,
    x: Float32Array,
    t: number,
    bias: Float32Array | null | undefined,
    dst: Float32Array | undefined,
    gated: boolean,
  ): Float32Array {
    const h = checkCall(handle, x, t, bias);
    if (gated && h.n % 2 !== 0) throw new WasmKernelError(`linearGated [${h.n}, ${h.k}]: N must be even (gate rows, then up rows)`);
    const nOut = gated ? h.n / 2 : h.n;
    // Every element of out is written below (finishRows / the exact path's copy): a reused destination needs no clearing.
    const out = dst && dst.length === t * nOut ? dst : new Float32Array(t * nOut);
    return h.dot ? linearDot(h, h.dot, x, t, out, bias, gated) : linearExact(h, h.layout!, x, t, out, bias, gated);
  }

  /** Token rows [0, rows) split over the threads for an elementwise kernel with `width` elements per row (one range when small). */
  function elementRanges(rows: number, width: number): number[][] {
    const parts = rows > 1 && rows * width * ELEMENTWISE_WORK >= minWork ? Math.min(threads, rows) : 1;
    const per = Math.ceil(rows / parts);
    const ranges: number[][] = [];
    for (let i = 0; i < parts && i * per < rows; i++) ranges.push([i * per, Math.min(rows, (i + 1) * per), 0]);
    return ranges;
  }

  /**
   * Rows [t0, t0 + tt) of out ([T, nOut]) from a matmul result y in memory `ai` (element (r, c) at yOff + 4 (c cs + r rs),
   * c < n), plus the bias; gated: silu(gate)·up of its two halves (nOut = n / 2). The pool's threads split the rows
   * (activation.wat tr_bias / gate_silu) into a staging area at `free`, copied out in one piece.
   */
  function finishRows(
    ai: number,
    yOff: number,
    cs: number,
    rs: number,
    tt: number,
    n: number,
    bias: Float32Array | null | undefined,
    gated: boolean,
    out: Float32Array,
    t0: number,
    free: number,
  ): void {
    const arena = arenas[ai];
    const nOut = gated ? n / 2 : n;
    const bOff = bias ? align(free, 64) : 0;
    const oOff = align(bias ? bOff + n * 4 : free, 64);
    arena.ensure(oOff + tt * nOut * 4);
    if (bias) arena.f32(bOff, n).set(bias);
    pool.run(ai, gated ? 'gate_silu' : 'tr_bias', [yOff, cs, rs, bOff, oOff, nOut], elementRanges(tt, nOut));
    out.set(arena.f32(oOff, tt * nOut), t0 * nOut);
  }

  /** Row ranges of 8-row blocks, one per participating thread, each with its scratch offset. */
  function rowRanges(rowsTotal: number, work: number, scrOff: number, scrPerThread: number): number[][] {
    const parts = work >= minWork ? Math.min(threads, Math.ceil(rowsTotal / ROWS_PER_BLOCK)) : 1;
    const rows = align(Math.ceil(rowsTotal / parts), ROWS_PER_BLOCK);
    const ranges: number[][] = [];
    for (let i = 0; i < parts && i * rows < rowsTotal; i++)
      ranges.push([i * rows, Math.min(rowsTotal, (i + 1) * rows), scrOff + i * scrPerThread]);
    return ranges;
  }

  /**
   * Runs a kernel over the row ranges of rowRanges: on one thread as it is; on several in chunks the threads take as
   * they come (pool.runChunked), `perThread` per participant, so that a thread that starts late (a worker
   * waking, or waiting for a core on a busy machine) only does less of the work.
   */
  function dispatch(mem: number, fn: KernelName, args: number[], ranges: number[][], perThread = CHUNKS_PER_THREAD): void {
    if (ranges.length < 2 || !pool.runChunked) return pool.run(mem, fn, args, ranges);
    const total = ranges[ranges.length - 1][1];
    const chunk = align(Math.ceil(total / (ranges.length * perThread)), ROWS_PER_BLOCK);
    pool.runChunked(
      mem,
      fn,
      args,
      total,
      chunk,
      ranges.map((r) => r[2]),
    );
  }

  /**
   * Decode (one token): the output is y's first n floats (plus the bias), copied out of the arena in one pass; gated,
   * silu(gate)·up of its halves (finishRows).
   */
  function decodeDot(
    h: WasmLinearParts,
    D: DotLayout,
    arena: Arena,
    x: Float32Array,
    out: Float32Array,
    bias: Float32Array | null | undefined,
    gated: boolean,
  ): Float32Array {
    const { n, np } = D;
    const B = D.blocking;
    const { kp, nb, nG, bs } = B;
    const nbg = B.gp / bs;
    const xOff = align(arena.top, 64);
    const sxOff = align(xOff + kp * 2, 64);
    const sumOff = align(sxOff + nb * 4, 64);
    const yOff = align(sumOff + nb * 4, 64);
    arena.ensure(yOff + np * 4);
    const buf = arena.memory.buffer;
    const xq = D.bits === 8 ? new Int8Array(buf, xOff, kp) : new Int16Array(buf, xOff, kp);
    writeDotDecodeX(x, h.gather!, B, xq, new Float32Array(buf, sxOff, nb), new Int32Array(buf, sumOff, nb), D.bits);
    const ranges = rowRanges(np, np * kp, 0, 0);
    if (D.format === 'int8') dispatch(h.arena, 'i8d_mv', [h.wOff, h.sOff, xOff, sxOff, yOff, nG, nbg, bs], ranges);
    else dispatch(h.arena, D.bits === 8 ? 'i4q_mv' : 'i4d_mv', [h.wOff, h.sOff, h.zOff, xOff, sxOff, sumOff, yOff, nG, nbg, bs], ranges);
    if (gated) {
      finishRows(h.arena, yOff, 1, 0, 1, n, bias, true, out, 0, yOff + np * 4);
      return out;
    }
    const y = arena.f32(yOff, n);
    if (!bias) out.set(y);
    else for (let j = 0; j < n; j++) out[j] = y[j] + bias[j];
    return out;
  }

  function linearDot(
    h: WasmLinearParts,
    D: DotLayout,
    x: Float32Array,
    t: number,
    out: Float32Array,
    bias: Float32Array | null | undefined,
    gated: boolean,
  ): Float32Array {
    const { n, k, np } = D;
    const B = D.blocking;
    const { kp, nb, nG, bs } = B;
    const nbg = B.gp / bs;
    const arena = arenas[h.arena];
    if (t === 1) return decodeDot(h, D, arena, x, out, bias, gated);
    // y is [np][stride] (token lanes), out [t][n]: finishRows transposes it (cs = stride, rs = 1).
    const scrPer = ROWS_PER_BLOCK * kp * 2;
    const scratch = threads * scrPer;
    // Per token: kp i16 of x, nb f32 of scales, np f32 of result, and above the scratch first x in f32 (k), then the
    // staged out (n f32) with the bias (n); chunks are whole token quads.
    const perToken = kp * 2 + nb * 4 + np * 4 + Math.max(k, n) * 4;
    const room = arena.capacity - align(arena.top, 64) - scratch - n * 4 - 1024;
    const tc = Math.min(t, Math.floor(room / perToken / 4) * 4);
    if (tc < 1) throw new WasmKernelError(`linear ${h.format} [${n}, ${k}]: no room for activations in its wasm memory`);
    for (let t0 = 0; t0 < t; t0 += tc) {
      const tt = Math.min(tc, t - t0);
      const t4 = Math.ceil(tt / 4) * 4;
      const xOff = align(arena.top, 64);
      const sxOff = align(xOff + t4 * kp * 2, 64);
      const yOff = align(sxOff + t4 * nb * 4, 64);
      const scrOff = align(yOff + t4 * np * 4, 64);
      arena.ensure(scrOff + scratch);
      const buf = arena.memory.buffer;
      // x into the memory, then the pool's threads quantize token rows (matmul.wat quant_rows; the gather index is
      // resident next to the weight).
      const xfOff = align(scrOff + scratch, 64);
      arena.ensure(xfOff + tt * k * 4);
      arena.f32(xfOff, tt * k).set(x.subarray(t0 * k, (t0 + tt) * k));
      pool.run(h.arena, 'quant_rows', [xfOff, k, h.gOff, kp, bs, activationMax(D.bits), xOff, sxOff, tt], elementRanges(t4, kp));
      const ranges = rowRanges(np, np * kp * tt, scrOff, scrPer);
      if (D.format === 'int8')
        dispatch(h.arena, 'i8d_mm', [h.wOff, h.sOff, xOff, sxOff, yOff, nG, nbg, bs, t4], ranges, PREFILL_CHUNKS_PER_THREAD);
      else
        dispatch(
          h.arena,
          D.bits === 8 ? 'i4q_mm' : 'i4d_mm',
          [h.wOff, h.sOff, h.zOff, xOff, sxOff, yOff, nG, nbg, bs, t4],
          ranges,
          PREFILL_CHUNKS_PER_THREAD,
        );
      finishRows(h.arena, yOff, t4, 1, tt, n, bias, gated, out, t0, scrOff + scratch);
    }
    return out;
  }

  function linearExact(
    h: WasmLinearParts,
    L: PackedLayout,
    x: Float32Array,
    t: number,
    out: Float32Array,
    bias: Float32Array | null | undefined,
    gated: boolean,
  ): Float32Array {
    const { n, k } = h;
    const { kp, nG, gp } = L;
    const arena = arenas[h.arena];
    const decode = t === 1;
    const scratch = threads * ROWS_PER_BLOCK * kp * 4;
    // Prefill x is stored in token quads: a chunk of tc tokens takes ceil(tc/4) * 4 rows of kp floats.
    const room = arena.capacity - align(arena.top, 64) - scratch - 3 * kp * 4 - n * 4 - 384;
    const tc = Math.min(t, Math.floor(room / ((kp + n + (gated ? n / 2 : 0)) * 4)));
    if (tc < 1) throw new WasmKernelError(`linear ${h.format} [${n}, ${k}]: no room for activations in its wasm memory`);
    for (let t0 = 0; t0 < t; t0 += tc) {
      const tt = Math.min(tc, t - t0);
      const xFloats = decode ? kp : Math.ceil(tt / 4) * 4 * kp;
      const xOff = align(arena.top, 64);
      const yOff = align(xOff + xFloats * 4, 64);
      const scrOff = align(yOff + tt * n * 4, 64);
      arena.ensure(scrOff + scratch);
      const xs = x.subarray(t0 * k, (t0 + tt) * k);
      if (decode) gatherInput(xs, 1, k, kp, h.gather, arena.f32(xOff, kp));
      else gatherQuads(xs, tt, k, kp, h.gather, arena.f32(xOff, xFloats));
      const parts = n * kp * tt >= minWork ? Math.min(threads, n) : 1;
      const rows = align(Math.ceil(n / parts), ROWS_PER_BLOCK);
      const ranges: number[][] = [];
      for (let i = 0; i < parts && i * rows < n; i++)
        ranges.push([i * rows, Math.min(n, (i + 1) * rows), scrOff + i * ROWS_PER_BLOCK * kp * 4]);
      let fn: KernelName;
      let args: number[];
      if (h.format === 'f32' || h.format === 'bf16') {
        const bf = h.format === 'bf16';
        fn = decode ? (bf ? 'bf16_mv' : 'f32_mv') : bf ? 'bf16_mm' : 'f32_mm';
        args = decode ? [h.wOff, xOff, yOff, kp] : [h.wOff, xOff, yOff, kp, tt, n];
      } else if (h.format === 'int8') {
        fn = decode ? 'i8_mv' : 'i8_mm';
        args = decode ? [h.wOff, h.sOff, xOff, yOff, nG, gp] : [h.wOff, h.sOff, xOff, yOff, nG, gp, tt, n];
      } else {
        // Symmetric int4 is packed as signed nibbles and needs no zero points (pack.ts).
        if (decode) {
          fn = h.zOff ? 'i4_mv' : 'i4s_mv';
          args = h.zOff ? [h.wOff, h.sOff, h.zOff, xOff, yOff, nG, gp] : [h.wOff, h.sOff, xOff, yOff, nG, gp];
        } else {
          fn = 'i4_mm';
          args = [h.wOff, h.sOff, h.zOff, xOff, yOff, nG, gp, tt, n];
        }
      }
      dispatch(h.arena, fn, args, ranges, decode ? CHUNKS_PER_THREAD : PREFILL_CHUNKS_PER_THREAD);
      if (gated) {
        finishRows(h.arena, yOff, 1, n, tt, n, bias, true, out, t0, scrOff + scratch);
        continue;
      }
      const y = arena.f32(yOff, tt * n);
      if (!bias) out.set(y, t0 * n);
      else
        for (let r = 0; r < tt; r++) {
          const o = (t0 + r) * n;
          const yo = r * n;
          for (let j = 0; j < n; j++) out[o + j] = y[yo + j] + bias[j];
        }
    }
    return out;
  }

  /**
   * One sequence's attention (attention.ts) in the I/O region of a memory with room for it (one with no weights is
   * made where none has), its (query, head) rows taken by the pool's threads in chunks as they come.
   */
  function attention(a: AttentionArgs): Float32Array {
    const [ai] = place([], attentionBytes(a, threads), `attention over ${a.s} keys (${a.nHeads} heads x ${a.headDim})`);
    const rows: AttentionRows = (args, total, work, scratch) => {
      if (threads < 2 || work < minWork || total < 2) pool.run(ai, 'att_rows', args, [[0, total, scratch[0]]]);
      else if (pool.runChunked) pool.runChunked(ai, 'att_rows', args, total, Math.ceil(total / (threads * CHUNKS_PER_THREAD)), scratch);
      else {
        const per = Math.ceil(total / threads);
        const ranges: number[][] = [];
        for (let i = 0; i * per < total; i++) ranges.push([i * per, Math.min(total, (i + 1) * per), scratch[i]]);
        pool.run(ai, 'att_rows', args, ranges);
      }
    };
    return attentionIn(arenas[ai], threads, rows, a);
  }

  /**
   * silu(gate) · up: on the calling thread (js-ops.ts) for small inputs, a single thread or a pool without chunked jobs;
   * otherwise copied above the first memory's weights and run by every thread in chunks (activation.wat: fdlibm's exp,
   * which is V8's Math.exp, in f64x2 lanes). Same operations per element, so the same bits.
   */
  function siluGate(gate: Float32Array, up: Float32Array, dst?: Float32Array): Float32Array {
    const n = gate.length;
    const arena = arenas[0];
    if (threads < 2 || !pool.runChunked || !arena || n < MIN_POOLED_SILU || up.length !== n) return ops.siluGate(gate, up, dst);
    const gOff = align(arena.top, 64);
    const uOff = align(gOff + n * 4, 64);
    const yOff = align(uOff + n * 4, 64);
    if (yOff + n * 4 > arena.capacity) return ops.siluGate(gate, up, dst);
    arena.ensure(yOff + n * 4);
    const buf = arena.memory.buffer;
    new Float32Array(buf, gOff, n).set(gate);
    new Float32Array(buf, uOff, n).set(up);
    const chunk = align(Math.ceil(n / (threads * CHUNKS_PER_THREAD)), 8);
    pool.runChunked(0, 'silu_gate', [gOff, uOff, yOff], n, chunk, new Array<number>(threads).fill(0));
    const out = dst && dst.length === n ? dst : new Float32Array(n);
    out.set(new Float32Array(buf, yOff, n));
    return out;
  }

  return {
    name: 'wasm-simd',
    writesOut: true,
    linearGated,
    threads,
    get memories() {
      return arenas.length;
    },
    exact,
    relaxedSimd,
    uploadLinear,
    linear,
    rmsNorm: rows.rmsNorm,
    layerNorm: ops.layerNorm,
    rope: ops.rope,
    attention,
    siluGate,
    gelu: ops.gelu,
    add: rows.add,
    embedding: ops.embedding,
    dispose: () => pool.dispose(),
  };
}
