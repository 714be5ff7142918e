/**
 * The wasm-simd backend's attention: js-ops.ts' float64 algorithm with its two O(S·d) loops (q·k scores, the
 * value mix) in matmul.wat (`att_scores`, `att_mix`, f64x2 lanes in the same order per lane) and the softmax
 * between them in activation.wat (`att_softmax`: the masking, the max, V8's Math.exp as fdlibm's sequence, the sum
 * in key order, the normalization), so the results are bit-identical to js-ops.ts' `attention`
 * (test/wasm-attention.test.ts). `att_rows` runs them over a range of (query, head) rows; the backend's pool splits
 * the rows over its threads (a row is one thread's, computed in the same order whichever thread takes it), so a
 * prefill's attention no longer runs on the calling thread alone while the workers wait. Each call copies q
 * (widened to f64), K and V of one sequence into a wasm memory: O(S·d), as the arithmetic is.
 */
import type { AttentionArgs } from '../types.ts';
import { WasmKernelError } from './errors.ts';
import { Arena, align } from './memory.ts';

/** Runs att_rows over rows [0, total) of the memory the layout was made in: args ++ [r0, r1, scratch of the thread]. */
export type AttentionRows = (args: number[], total: number, work: number, scratch: number[]) => void;

/** Where one call's data lies from byte `base` on (64-byte aligned pieces); `end`: the first byte after it. */
function layout(a: AttentionArgs, threads: number, base: number) {
  const { t, s, nHeads, nKvHeads, headDim: d, patternOut } = a;
  const kvBytes = s * nKvHeads * d * 4;
  const scrPer = align((s + 4) * 8, 64);
  // q64 [t][nHeads][d] f64, K and V [s][nKvHeads * d] f32, out [t][nHeads][d] f32, the pattern [nHeads][t][s] f64
  // (only when asked), valid [s] u8, the scale f64, then one row of scores per thread.
  const qOff = align(base, 64);
  const kOff = align(qOff + t * nHeads * d * 8, 64);
  const vOff = align(kOff + kvBytes, 64);
  const oOff = align(vOff + kvBytes, 64);
  const pOff = align(oOff + t * nHeads * d * 4, 64);
  const validOff = align(pOff + (patternOut ? nHeads * t * s * 8 : 0), 64);
  const scaleOff = align(validOff + s, 64);
  const scrOff = scaleOff + 64;
  return { qOff, kOff, vOff, oOff, pOff, validOff, scaleOff, scrOff, scrPer, end: scrOff + threads * scrPer };
}

/** Bytes of wasm memory one call of `attentionIn` needs above an arena's weights. */
export function attentionBytes(a: AttentionArgs, threads: number): number {
  return layout(a, threads, 0).end + 64;
}

/**
 * One sequence's attention in `arena`'s I/O region (above its resident weights, which it never touches; the caller
 * made sure attentionBytes fit), run by `rows` with `threads` scratch rows. Returns out [t, nHeads * headDim] (a.out
 * when it has that length).
 */
export function attentionIn(arena: Arena, threads: number, rows: AttentionRows, a: AttentionArgs): Float32Array {
  const { q, k, v, t, s, nHeads, nKvHeads, headDim: d, keyValid, scale, patternOut } = a;
  const out = a.out && a.out.length === t * nHeads * d ? a.out : new Float32Array(t * nHeads * d);
  const kvStride = nKvHeads * d;
  const L = layout(a, threads, arena.top);
  arena.ensure(L.end);
  const buf = arena.memory.buffer;
  new Float64Array(buf, L.qOff, t * nHeads * d).set(q.subarray(0, t * nHeads * d));
  new Float32Array(buf, L.kOff, s * kvStride).set(k.subarray(0, s * kvStride));
  new Float32Array(buf, L.vOff, s * kvStride).set(v.subarray(0, s * kvStride));
  new Uint8Array(buf, L.validOff, s).set(keyValid.subarray(0, s));
  new Float64Array(buf, L.scaleOff, 1)[0] = scale;
  // A pattern row whose query sees no key stays zero, as the reference leaves it.
  const pattern = patternOut ? new Float64Array(buf, L.pOff, nHeads * t * s).fill(0) : null;
  const args = [
    L.qOff,
    L.kOff,
    L.vOff,
    L.oOff,
    L.validOff,
    pattern ? L.pOff : 0,
    L.scaleOff,
    d,
    nHeads,
    nHeads / nKvHeads,
    kvStride * 4,
    s,
    t,
  ];
  const scratch = Array.from({ length: threads }, (_, i) => L.scrOff + i * L.scrPer);
  rows(args, t * nHeads, t * nHeads * s * d, scratch);
  out.set(new Float32Array(buf, L.oOff, t * nHeads * d));
  if (patternOut && pattern) patternOut.set(pattern);
  return out;
}

export type AttentionFn = (a: AttentionArgs) => Float32Array;

interface RowsExport {
  att_rows(...args: number[]): void;
}

/**
 * A standalone attention on the calling thread, in a memory of its own (grown as needed, up to 4 GiB: K and V of a
 * 1M-token context of 8 KV heads x 128 would not fit). `module`: matmul.wat's module (or its relaxed composition).
 */
export function createWasmAttention(module: WebAssembly.Module, shared: boolean): AttentionFn {
  const arena = new Arena(2 ** 32, 1 << 20, 1024, shared);
  const ex = new WebAssembly.Instance(module, { env: { memory: arena.memory } }).exports as unknown as RowsExport;
  const rows: AttentionRows = (args, total, _work, scratch) => ex.att_rows(...args, 0, total, scratch[0]);
  return (a) => {
    const need = attentionBytes(a, 1);
    if (arena.top + need > arena.capacity)
      throw new WasmKernelError(
        `attention over ${a.s} keys (${a.nHeads} heads x ${a.headDim}): needs ${need} bytes of wasm memory, more than one memory holds`,
      );
    return attentionIn(arena, 1, rows, a);
  };
}
