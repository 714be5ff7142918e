/**
 * Kernels written in JavaScript that the worker pool runs like the wasm ones, on the same shared memory: work that
 * was serial JS on the calling thread while the other threads waited (a 1280-row prefill spent a third of its time
 * in the result transpose, silu(gate)·up and the activation quantization; silu·up has since moved to wasm,
 * activation.wat). In JS they compute exactly what the reference ops compute (same double arithmetic), so the bits
 * do not depend on the thread count.
 *
 * Each is self-contained (no imports, no closure: worker-source.ts and web-pool.ts embed their source text, so the
 * workers and the caller run the same code). Signature: (buffer, ...args, r0, r1[, scratch]) over rows [r0, r1);
 * offsets are in bytes.
 */

/**
 * out[r, j] = y[j·cs + r·rs] (+ b[j]) for r in [r0, r1), j < n: a matmul result (any layout) into [T, n] rows.
 * bOff = 0: no bias. Plain f32 loads and stores; with a bias one f32 rounding of the sum, as the reference.
 */
export function trBias(
  buf: ArrayBufferLike,
  yOff: number,
  cs: number,
  rs: number,
  bOff: number,
  oOff: number,
  n: number,
  r0: number,
  r1: number,
): void {
  // Tiles of this many output columns keep the strided reads of y (one per column) in cache across the rows.
  const TILE = 32;
  const y = new Float32Array(buf, yOff);
  const o = new Float32Array(buf, oOff);
  const b = bOff ? new Float32Array(buf, bOff, n) : null;
  for (let j0 = 0; j0 < n; j0 += TILE) {
    const j1 = Math.min(n, j0 + TILE);
    for (let r = r0; r < r1; r++) {
      const ob = r * n;
      const yb = r * rs;
      if (b) for (let j = j0; j < j1; j++) o[ob + j] = y[yb + j * cs] + b[j];
      else for (let j = j0; j < j1; j++) o[ob + j] = y[yb + j * cs];
    }
  }
}

/**
 * Prefill activations of the integer-dot path: rows [r0, r1) of x (f32 [t, k] at xOff; rows t.. of the last
 * token quad are zero) gathered by idx (i32 [kp] at gOff, -1 = pad) and quantized per block of bs with
 * sx = f32(absmax / qmax), xq = round(x qmax / absmax): kernels/dot-quant.ts quantizeRow's arithmetic (its
 * definition), written straight into the token-quad layout xq [T4/4][kp/8][4][8] i16 and sx [T4/4][nb][4] f32.
 * Math.round(v) is computed as floor(v + 0.5), less one where r - 0.5 > v: the same value (dot-quant.ts
 * roundHalfUp), 5× cheaper in V8 here.
 */
export function quantRows(
  buf: ArrayBufferLike,

  xOff: number,
  k: number,
  gOff: number,
  kp: number,
  bs: number,
  qmax: number,
  xqOff: number,
  sxOff: number,
  t: number,
  r0: number,
  r1: number,
): void {
  const x = new Float32Array(buf, xOff);
  const idx = new Int32Array(buf, gOff, kp);
  const xq = new Int16Array(buf, xqOff);
  const sx = new Float32Array(buf, sxOff);
  const nb = kp / bs;
  for (let r = r0; r < r1; r++) {
    const qb = (r >> 2) * kp * 4 + (r & 3) * 8; // element i of the row sits at qb + (i & ~7) * 4 + (i & 7)
    const sb = (r >> 2) * nb * 4 + (r & 3);
    const base = r * k;
    for (let b = 0; b < nb; b++) {
      const from = b * bs;
      const to = from + bs;
      let amax = 0;
      if (r < t)
        for (let i = from; i < to; i++) {
          const s = idx[i];
          if (s >= 0) {
            const v = Math.abs(x[base + s]);
            if (v > amax || v !== v) amax = v !== v ? NaN : v;
          }
        }
      if (amax > 0 && amax !== Infinity) {
        for (let i = from; i < to; i++) {
          const s = idx[i];
          let q = 0;
          if (s >= 0) {
            const v = (x[base + s] * qmax) / amax;
            q = Math.floor(v + 0.5);
            if (q - 0.5 > v) q -= 1;
          }
          xq[qb + (i & ~7) * 4 + (i & 7)] = q;
        }
        sx[sb + b * 4] = Math.fround(amax / qmax);
      } else {
        // Padding rows and all-zero blocks: zeros. NaN / Infinity: the block's outputs become NaN.
        for (let i = from; i < to; i++) xq[qb + (i & ~7) * 4 + (i & 7)] = 0;
        sx[sb + b * 4] = amax === 0 ? 0 : NaN;
      }
    }
  }
}

/** The JS kernels by pool name (pool.ts KERNELS). */
export const JS_KERNEL_FNS = {
  tr_bias: trBias,
  quant_rows: quantRows,
} as const;

/** Source text defining `jsKernels` (name -> function) inside a worker. */
export const jsKernelsSource = `const jsKernels = { ${Object.entries(JS_KERNEL_FNS)
  .map(([name, f]) => `${name}: ${f.toString()}`)
  .join(', ')} };`;
