/**
 * The wasm-simd backend's attention: js-ops.ts' float64 algorithm with its two O(S·d) loops (q·k scores, the
 * value mix) in matmul.wat (`att_scores`, `att_mix`, f64x2 lanes in the same order per lane) and the softmax
 * between them in activation.wat (`att_softmax`: the masking, the max, V8's Math.exp as fdlibm's sequence, the sum
 * in key order, the normalization), so the results are bit-identical to js-ops.ts' `attention`
 * (test/wasm-attention.test.ts). It runs on the calling thread, in a memory of its own (never the weights' arenas),
 * into which each call copies q (widened to f64), K and V of one sequence: O(S·d), as the arithmetic is.
 */
import type { AttentionArgs } from '../types.ts';
import { Arena } from './memory.ts';

interface AttentionExports {
  att_scores(q: number, k: number, sc: number, d: number, ks: number, nk: number, scale: number): void;
  att_mix(p: number, v: number, out: number, d: number, vs: number, nk: number): void;
  att_softmax(sc: number, valid: number, nk: number): number;
}

const align = (v: number, a: number) => Math.ceil(v / a) * a;

export type AttentionFn = (a: AttentionArgs) => Float32Array;

/** `module`: the backend's kernel module (matmul.wat, or its relaxed composition; both export att_*). */
export function createWasmAttention(module: WebAssembly.Module, shared: boolean): AttentionFn {
  // Grown as needed (Arena.ensure), up to 4 GiB: K and V of a 1M-token context of 8 KV heads x 128 would not fit.
  const arena = new Arena(2 ** 32, 1 << 20, 1024, shared);
  const ex = new WebAssembly.Instance(module, { env: { memory: arena.memory } }).exports as unknown as AttentionExports;

  return function attention(a: AttentionArgs): Float32Array {
    const { q, k, v, t, s, nHeads, nKvHeads, headDim: d, keyValid, scale, patternOut } = a;
    // Rows that see no key are skipped below and must read zero: a reused destination (AttentionArgs.out) is cleared.
    const out = a.out && a.out.length === t * nHeads * d ? a.out.fill(0) : new Float32Array(t * nHeads * d);
    const group = nHeads / nKvHeads;
    const kvStride = nKvHeads * d;
    // Layout: q64 [nHeads * d] f64 (one query row), sc [s] f64, K [s * kvStride] f32, V likewise, out [nHeads * d] f32,
    // valid [s] u8.
    const qOff = 1024;
    const scOff = align(qOff + nHeads * d * 8, 64);
    const kOff = align(scOff + s * 8, 64);
    const vOff = align(kOff + s * kvStride * 4, 64);
    const oOff = align(vOff + s * kvStride * 4, 64);
    const validOff = align(oOff + nHeads * d * 4, 64);
    arena.ensure(validOff + s);
    const buf = arena.memory.buffer;
    const q64 = new Float64Array(buf, qOff, nHeads * d);
    const scores = new Float64Array(buf, scOff, s);
    const o32 = new Float32Array(buf, oOff, nHeads * d);
    new Float32Array(buf, kOff, s * kvStride).set(k.subarray(0, s * kvStride));
    new Float32Array(buf, vOff, s * kvStride).set(v.subarray(0, s * kvStride));
    new Uint8Array(buf, validOff, s).set(keyValid.subarray(0, s));
    for (let i = 0; i < t; i++) {
      const last = s - t + i; // absolute slot of this query
      const nk = last + 1;
      q64.set(q.subarray(i * nHeads * d, (i + 1) * nHeads * d));
      for (let h = 0; h < nHeads; h++) {
        const kh = Math.floor(h / group);
        ex.att_scores(qOff + h * d * 8, kOff + kh * d * 4, scOff, d, kvStride * 4, nk, scale);
        // no visible key: zeros, as the reference
        if (!ex.att_softmax(scOff, validOff, nk)) continue;
        if (patternOut) patternOut.set(scores.subarray(0, nk), (h * t + i) * s);
        ex.att_mix(scOff, vOff + kh * d * 4, oOff + h * d * 4, d, kvStride * 4, nk);
        out.set(o32.subarray(h * d, (h + 1) * d), (i * nHeads + h) * d);
      }
    }
    return out;
  };
}
