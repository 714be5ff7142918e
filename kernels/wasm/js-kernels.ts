/**
 * Kernels written in JavaScript that the worker pool runs like the wasm ones (pool.ts JS_KERNELS): for ops that need
 * Math.exp, which wasm lacks. Each is self-contained (no imports, no closure): worker-source.ts embeds its source
 * text, so the workers and the caller run the same code on the same shared memory. Signature: (buffer, ...args,
 * n0, n1) over rows [n0, n1).
 */

/**
 * y[i] = silu(g[i]) · u[i] for i in [n0, n1), f32 arrays at byte offsets g, u, y: the same double operations as
 * siluGateRef (x / (1 + Math.exp(-x)), times u, rounded to f32 once), so the same bits.
 */
export function siluGateRows(buf: ArrayBufferLike, g: number, u: number, y: number, n0: number, n1: number): void {
  const G = new Float32Array(buf, g, n1);
  const U = new Float32Array(buf, u, n1);
  const Y = new Float32Array(buf, y, n1);
  for (let i = n0; i < n1; i++) {
    const x = G[i];
    Y[i] = (x / (1 + Math.exp(-x))) * U[i];
  }
}
