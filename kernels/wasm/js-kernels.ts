/**
 * Kernels written in JS that the wasm pool runs in its threads, next to the wasm ones, on the same shared memory.
 * They exist because a prefill's element-wise work was serial on the calling thread while the other threads
 * waited: the result transpose after each integer-dot matmul and silu(gate)·up (Math.exp, ~12 ns a call here:
 * wasm has no exp, and V8's Math.exp is what the reference uses) and the activation quantization before it were a
 * third of a 1280-row forward. In JS they
 * compute exactly what the reference ops compute (same double arithmetic, same Math.exp), so the bits do not depend
 * on the thread count.
 *
 * `jsKernels` is shipped to the workers as source text (worker-source.ts, web-pool.ts): its body must use nothing
 * from outside it but JS globals. Every kernel takes byte offsets and ends with (r0, r1, scr) like the wasm ones:
 * here the token rows [r0, r1) of this thread (scr unused).
 */
export const JS_KERNELS = ['tr_bias', 'gate_silu', 'quant_rows'] as const;

export type JsKernels = Record<(typeof JS_KERNELS)[number], (...args: number[]) => void>;

export function jsKernels(memory: WebAssembly.Memory): JsKernels {
  // Tiles of this many output columns keep the strided reads of y (one per column) in cache across the rows.
  const TILE = 32;
  return {
    /**
     * out[r, j] = y[j·cs + r·rs] (+ b[j]) for r in [r0, r1), j < n: a matmul result (any layout) into [T, n] rows.
     * bOff = 0: no bias. Plain f32 loads and stores; with a bias one f32 rounding of the sum, as the reference.
     */
    tr_bias(yOff: number, cs: number, rs: number, bOff: number, oOff: number, n: number, r0: number, r1: number) {
      const buf = memory.buffer;
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
    },
    /**
     * The gated MLP's activation straight from the gate|up matmul result: out[r, j] = silu(g) · u with
     * g = f32(y[j] (+ b[j])) and u = f32(y[dm + j] (+ b[dm + j])) for j < dm (y's element (r, c) at c·cs + r·rs),
     * silu(g) = g / (1 + exp(-g)) in double, one rounding at the store: kernels/reference/ops.ts siluGateRef on the
     * f32 gate and up the separate path would have stored.
     */
    gate_silu(yOff: number, cs: number, rs: number, bOff: number, oOff: number, dm: number, r0: number, r1: number) {
      const buf = memory.buffer;
      const y = new Float32Array(buf, yOff);
      const o = new Float32Array(buf, oOff);
      const b = bOff ? new Float32Array(buf, bOff, 2 * dm) : null;
      const up = dm * cs;
      for (let j0 = 0; j0 < dm; j0 += TILE) {
        const j1 = Math.min(dm, j0 + TILE);
        for (let r = r0; r < r1; r++) {
          const ob = r * dm;
          const yb = r * rs;
          for (let j = j0; j < j1; j++) {
            const g = b ? Math.fround(y[yb + j * cs] + b[j]) : y[yb + j * cs];
            const u = b ? Math.fround(y[yb + up + j * cs] + b[dm + j]) : y[yb + up + j * cs];
            o[ob + j] = (g / (1 + Math.exp(-g))) * u;
          }
        }
      }
    },
    /**
     * Prefill activations of the integer-dot path: rows [r0, r1) of x (f32 [t, k] at xOff; rows t.. of the last
     * token quad are zero) gathered by idx (i32 [kp] at gOff, -1 = pad) and quantized per block of bs with
     * sx = f32(absmax / qmax), xq = round(x qmax / absmax): kernels/dot-quant.ts quantizeRow's arithmetic (its
     * definition), written straight into the token-quad layout xq [T4/4][kp/8][4][8] i16 and sx [T4/4][nb][4] f32.
     * Math.round(v) is computed as floor(v + 0.5), less one where r - 0.5 > v: the same value (dot-quant.ts
     * roundHalfUp), 5× cheaper in V8 here.
     */
    quant_rows(
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
    ) {
      const buf = memory.buffer;
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
    },
  };
}
