/**
 * The 'wasm-simd' Backend: Linear layers run on the hand-written WebAssembly SIMD kernels
 * (matmul.wat) over resident, repacked weights in shared memories, split across a worker pool by
 * output rows. The other ops run as plain f32 JS (js-ops.ts).
 */
import { integerFromEnv } from '../../engine/numbers.ts';
import { availableParallelism } from 'node:os';
import { checkWeight } from '../formats.ts';
import type { Backend, LinearHandle, LinearWeight } from '../types.ts';
import { loadKernelModule } from './assemble.ts';
import { WasmKernelError } from './errors.ts';
import * as ops from './js-ops.ts';
import { Arena, MAX_MEMORY_BYTES } from './memory.ts';
import { gatherIndex, gatherInput, gatherQuads, packedLayout, writePacked, type PackedLayout } from './pack.ts';
import { ThreadPool, type KernelName } from './pool.ts';

export interface WasmSimdOptions {
  /** Participating threads, the caller's included (default GLASSBOX_THREADS, else os.availableParallelism()). */
  threads?: number;
  /** Bytes per WebAssembly.Memory (default and maximum 4 GiB); weights beyond it go to further memories. */
  maxMemoryBytes?: number;
  /** Multiply-adds below which a call stays on the caller (default 2^18: waking a worker costs ~10 µs). */
  minThreadedWork?: number;
  /** Byte offset where weights start in each memory (default 1024; tests put it above 2 GiB). */
  firstOffset?: number;
}

/** Rows a prefill kernel dequantizes at a time into each thread's scratch (matmul.wat). */
const ROWS_PER_BLOCK = 8;

/**
 * Below this many multiply-adds a call runs on the calling thread alone: ~16 µs of int8 work, about
 * what waking a worker costs here (1x192x512 int8 took 14 µs on 1 thread, 24 µs on 2).
 */
const MIN_THREADED_WORK = 1 << 18;

const align = (v: number, a: number) => Math.ceil(v / a) * a;

class WasmLinear implements LinearHandle {
  constructor(
    readonly owner: symbol,
    readonly n: number,
    readonly k: number,
    readonly format: LinearWeight['format'],
    readonly bytes: number,
    readonly layout: PackedLayout,
    readonly arena: number,
    readonly wOff: number,
    readonly sOff: number,
    /** 0 when symmetric (z = 8, signed-nibble layout) or not int4. */
    readonly zOff: number,
    readonly gather: Int32Array | null,
  ) {}
}

/** More workers than this never helps (each holds a wasm instance); a typo such as 1000000 is refused. */
export const MAX_THREADS = 256;

export function defaultThreads(): number {
  return integerFromEnv(process.env, 'GLASSBOX_THREADS', { min: 1, max: MAX_THREADS }) ?? availableParallelism();
}

export interface WasmSimdBackend extends Backend {
  /** Number of WebAssembly memories in use (grows past 1 only when weights exceed maxMemoryBytes). */
  readonly memories: number;
}

export function createWasmSimdBackend(opts: WasmSimdOptions = {}): WasmSimdBackend {
  const threads = Math.max(1, Math.floor(opts.threads ?? defaultThreads()));
  const maxBytes = Math.min(MAX_MEMORY_BYTES, opts.maxMemoryBytes ?? MAX_MEMORY_BYTES);
  if (!(maxBytes >= 65536)) throw new WasmKernelError(`wasm-simd backend: maxMemoryBytes ${opts.maxMemoryBytes} is below one 64 KiB page`);
  const minWork = opts.minThreadedWork ?? MIN_THREADED_WORK;
  const pool = new ThreadPool(threads, loadKernelModule());
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
    const arena = new Arena(maxBytes, need, first);
    arenas.push(arena);
    if (pool.addMemory(arena.memory) !== arenas.length - 1) throw new Error('wasm-simd: memory index out of step');
    return [arenas.length - 1, arena.alloc(sizes, reserve)!];
  }

  function uploadLinear(w: LinearWeight): LinearHandle {
    const what = `linear ${w?.format} [${w?.n}, ${w?.k}]`;
    try {
      checkWeight(w, what);
    } catch (e) {
      throw new WasmKernelError((e as Error).message);
    }
    if (w.perm) for (let c = 0; c < w.k; c++) {
      const v = w.perm[c];
      if (!(Number.isInteger(v) && v >= 0 && v < w.k)) throw new WasmKernelError(`${what}: perm[${c}] = ${v} is outside [0, ${w.k})`);
    }
    const L = packedLayout(w);
    // Room left above every weight for one token quad's I/O (x, y, scratch), so any call can proceed in chunks.
    const reserve = (L.kp * (4 + threads * ROWS_PER_BLOCK) + 4 * L.n) * 4 + 1024;
    const [ai, [wOff, sOff, zOff]] = place([L.weightBytes, L.scaleBytes, L.zeroBytes], reserve, what);
    writePacked(w, L, arenas[ai].memory.buffer, wOff, sOff, zOff);
    const bytes = L.weightBytes + L.scaleBytes + L.zeroBytes;
    return new WasmLinear(owner, w.n, w.k, w.format, bytes, L, ai, wOff, sOff, L.zeroBytes ? zOff : 0, gatherIndex(w, L));
  }

  function linear(handle: LinearHandle, x: Float32Array, t: number, bias?: Float32Array | null): Float32Array {
    if (!(handle instanceof WasmLinear) || handle.owner !== owner) throw new WasmKernelError('linear: handle was not uploaded to this wasm-simd backend');
    const h = handle;
    const { n, k } = h;
    const { kp, nG, gp } = h.layout;
    if (!(Number.isInteger(t) && t >= 1) || x.length !== t * k)
      throw new WasmKernelError(`linear ${h.format} [${n}, ${k}]: x has ${x.length} values for T=${t} (want T*K = ${t * k})`);
    if (bias && bias.length !== n) throw new WasmKernelError(`linear ${h.format} [${n}, ${k}]: bias has ${bias.length} values (want ${n})`);
    const arena = arenas[h.arena];
    const decode = t === 1;
    const scratch = threads * ROWS_PER_BLOCK * kp * 4;
    // Prefill x is stored in token quads: a chunk of tc tokens takes ceil(tc/4) * 4 rows of kp floats.
    const room = arena.capacity - align(arena.top, 64) - scratch - 3 * kp * 4 - 256;
    const tc = Math.min(t, Math.floor(room / ((kp + n) * 4)));
    if (tc < 1) throw new WasmKernelError(`linear ${h.format} [${n}, ${k}]: no room for activations in its wasm memory`);
    const out = new Float32Array(t * n);
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
      for (let i = 0; i < parts && i * rows < n; i++) ranges.push([i * rows, Math.min(n, (i + 1) * rows), scrOff + i * ROWS_PER_BLOCK * kp * 4]);
      let fn: KernelName;
      let args: number[];
      if (h.format === 'f32') {
        fn = decode ? 'f32_mv' : 'f32_mm';
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
      pool.run(h.arena, fn, args, ranges);
      const y = arena.f32(yOff, tt * n);
      if (!bias) out.set(y, t0 * n);
      else for (let r = 0; r < tt; r++) {
        const o = (t0 + r) * n;
        const yo = r * n;
        for (let j = 0; j < n; j++) out[o + j] = y[yo + j] + bias[j];
      }
    }
    return out;
  }

  return {
    name: 'wasm-simd',
    threads,
    get memories() {
      return arenas.length;
    },
    uploadLinear,
    linear,
    rmsNorm: ops.rmsNorm,
    layerNorm: ops.layerNorm,
    rope: ops.rope,
    attention: ops.attention,
    siluGate: ops.siluGate,
    gelu: ops.gelu,
    add: ops.add,
    embedding: ops.embedding,
    dispose: () => pool.dispose(),
  };
}
