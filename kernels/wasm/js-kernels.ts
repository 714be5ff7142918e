/**
 * Kernels written in JavaScript that the worker pool runs like the wasm ones, on the same shared memory: work that
 * was serial JS on the calling thread while the other threads waited (a 1280-row prefill spent a third of its time
 * in the result transpose, silu(gate)·up and the activation quantization; the last two have since moved to wasm,
 * activation.wat and matmul.wat quant_rows). In JS they compute exactly what the reference ops compute (same double
 * arithmetic), so the bits do not depend on the thread count.
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

/** The JS kernels by pool name (pool.ts KERNELS). */
export const JS_KERNEL_FNS = {
  tr_bias: trBias,
} as const;

/** Source text defining `jsKernels` (name -> function) inside a worker. */
export const jsKernelsSource = `const jsKernels = { ${Object.entries(JS_KERNEL_FNS)
  .map(([name, f]) => `${name}: ${f.toString()}`)
  .join(', ')} };`;
