/**
 * Kernel-level types. Kernels know nothing about models: typed arrays in, typed arrays out, explicit dims.
 *
 * Weight layouts are documented in full in kernels/formats.ts (the one file every quantizer, converter and
 * backend agrees on). In short, a Linear computes y[t, n] = sum_k x[t, k] * W[n, k] (+ bias[n]), W is [N, K]:
 *  - f32:  w [N*K] row-major.
 *  - bf16: w [N*K] row-major bfloat16 bit patterns (the top 16 bits of an f32): W = f32(w << 16), exact.
 *  - int8: q [N*K] int8 row-major, symmetric; scales [N * nGroups], nGroups = ceil(K / groupSize);
 *          W[n,k] = q[n,k] * scales[n*nGroups + floor(k/groupSize)]. Per-channel = groupSize K.
 *  - int4: packed [N * ceil(K/2)] bytes, row-major; byte j of row n holds k=2j in its low nibble and
 *          k=2j+1 in its high nibble; unsigned q in 0..15. W[n,k] = (q[n,k] - z) * s with
 *          s = scales[n*nGroups + g], z = zeros[n*nGroups + g] (asymmetric) or 8 (zeros null: symmetric).
 *  - perm (optional, any format): an input-channel gather; the layer computes y = W' x[perm], used to
 *    keep GPTQ act-order groups contiguous. dequantize() undoes it.
 *  - mixed (MixedLinearWeight below, LLM.int8()): an int8 `main` plus a small f32 `outlier` matrix over a few
 *    input columns; y = main·x + outlier·x[outlierCols]. Backends run it as two of the layouts above.
 */

import type { WgpuRuntime } from './webgpu/runtime.ts';

export type LinearWeight = F32Weight | Bf16Weight | Int8Weight | Int4Weight;

export interface F32Weight {
  format: 'f32';
  n: number;
  k: number;
  w: Float32Array;
  perm?: Int32Array | null;
}

/** bfloat16 weights kept at their stored precision (half of f32's memory and bandwidth; widening is exact). */
export interface Bf16Weight {
  format: 'bf16';
  n: number;
  k: number;
  w: Uint16Array;
  perm?: Int32Array | null;
}

export interface Int8Weight {
  format: 'int8';
  n: number;
  k: number;
  groupSize: number;
  q: Int8Array;
  scales: Float32Array;
  perm?: Int32Array | null;
}

export interface Int4Weight {
  format: 'int4';
  n: number;
  k: number;
  groupSize: number;
  packed: Uint8Array;
  scales: Float32Array;
  /** Per-group zero points 0..15, or null for symmetric (z = 8). */
  zeros: Uint8Array | null;
  perm?: Int32Array | null;
}

/**
 * An LLM.int8()-style mixed Linear: input columns `outlierCols` run in f32 (`outlier` is [N, nOut]), the rest on
 * the int8 kernel (`main` has those columns zeroed); the two results are added. No backend takes it whole:
 * `main` and `outlier` are uploaded as two Linears. engine/glassbox-format.ts stores it on disk.
 */
export interface MixedLinearWeight {
  format: 'mixed';
  n: number;
  k: number;
  main: Int8Weight;
  outlierCols: Int32Array;
  outlier: F32Weight;
}

export type BackendName = 'wasm-simd' | 'webasm' | 'cpu' | 'webgpu' | 'reference';

/** A weight uploaded to a backend: resident, in the backend's packed form, never re-converted per call. */
export interface LinearHandle {
  readonly n: number;
  readonly k: number;
  readonly format: LinearWeight['format'];
  /** Bytes of stored weight data (what a matvec streams). */
  readonly bytes: number;
}

export interface AttentionArgs {
  /** Queries [T, nHeads, headDim]. */
  q: Float32Array;
  /** Keys / values [S, nKvHeads, headDim]: all cached positions, including the T new ones at the end. */
  k: Float32Array;
  v: Float32Array;
  t: number;
  s: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /**
   * keyValid[s] = 1 when key s is a real token (0 for left padding). Query t (0-based among the T new
   * rows) sees key j iff keyValid[j] and j <= (s - t_total) + t, i.e. causal over absolute slots.
   */
  keyValid: Uint8Array;
  /** Softmax scale, usually 1/sqrt(headDim). */
  scale: number;
  /** When set, the attention probabilities [nHeads, T, S] are written here. */
  patternOut?: Float32Array | null;
  /** Optional destination [T, nHeads*headDim] (see Backend: `out`). */
  out?: Float32Array;
}

/**
 * The operations of a forward pass. Each backend implements all of them; results may be returned
 * synchronously or as a Promise (webgpu readback is async), so callers always `await`.
 *
 * `out` (optional, last argument): a destination of exactly the result's length that the caller no longer needs and
 * that aliases no input. A backend may write the result into it and return it, or ignore it and return a fresh
 * array; callers always use the returned array. It lets a caller reuse memory across forward steps: a fresh typed
 * array per op per token is most of what a browser worker's allocator pays for at decode (docs/app.md).
 */
export interface Backend {
  readonly name: BackendName;
  readonly threads: number;
  /** True when the ops write into a given `out` (wasm-simd, reference): only then is reusing memory worth it. */
  readonly writesOut?: boolean;
  /**
   * webgpu only: the device runtime on which models/resident.ts keeps a whole model (weights, activations,
   * KV cache) and records each forward step as one submit. The per-op methods below still work.
   */
  readonly resident?: WgpuRuntime;
  uploadLinear(w: LinearWeight): LinearHandle;
  /** x [T, K] -> [T, N]. */
  linear(h: LinearHandle, x: Float32Array, t: number, bias?: Float32Array | null, out?: Float32Array): Float32Array | Promise<Float32Array>;
  /**
   * Optional (wasm-simd): the gated MLP's activation in one call, silu(y[:, :N/2]) · y[:, N/2:] for
   * y = linear(h, x, t, bias) [T, N] (gate rows then up rows), N even; [T, N/2], the same bits as linear followed by
   * siluGate on its two halves. Callers without it run those two.
   */
  linearGated?(
    h: LinearHandle,
    x: Float32Array,
    t: number,
    bias?: Float32Array | null,
    out?: Float32Array,
  ): Float32Array | Promise<Float32Array>;
  /** y = x / rms(x) * (addOne ? 1 + w : w), rows of length d. */
  rmsNorm(
    x: Float32Array,
    w: Float32Array,
    t: number,
    d: number,
    eps: number,
    addOne?: boolean,
    out?: Float32Array,
  ): Float32Array | Promise<Float32Array>;
  layerNorm(
    x: Float32Array,
    w: Float32Array,
    b: Float32Array,
    t: number,
    d: number,
    eps: number,
    out?: Float32Array,
  ): Float32Array | Promise<Float32Array>;
  /** rotate_half RoPE on x [T, nHeads, headDim] at absolute positions pos[T], with inv_freq [headDim/2]. */
  rope(
    x: Float32Array,
    pos: Int32Array,
    t: number,
    nHeads: number,
    headDim: number,
    invFreq: Float32Array,
    out?: Float32Array,
  ): Float32Array | Promise<Float32Array>;
  /** Causal GQA attention with a padding mask; returns [T, nHeads*headDim]. */
  attention(a: AttentionArgs): Float32Array | Promise<Float32Array>;
  /** silu(gate) * up, elementwise. */
  siluGate(gate: Float32Array, up: Float32Array, out?: Float32Array): Float32Array | Promise<Float32Array>;
  /** GPT-2 gelu_new (tanh approximation), elementwise. */
  gelu(x: Float32Array, out?: Float32Array): Float32Array | Promise<Float32Array>;
  add(a: Float32Array, b: Float32Array, out?: Float32Array): Float32Array | Promise<Float32Array>;
  /** Rows of table [V, d] gathered by ids. */
  embedding(table: Float32Array, ids: Int32Array, d: number, out?: Float32Array): Float32Array | Promise<Float32Array>;
  dispose(): void;
}
