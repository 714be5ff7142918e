/**
 * The gpu.js linear kernel bodies, one output row n per cell (thread.x), weights in constants W [N][rowLen]
 * (see linear-layout.ts), scales S / zero points Z [N][groups]. Two shapes each: one token per call
 * (decode), and four tokens per call (prefill) where one weight read feeds four multiply-adds — on webasm
 * the weight gather and nibble unpacking, not the arithmetic, are the cost (cpu-performance.md B7.7).
 */
import type { KernelThis } from './runtime.ts';

// Inner loops unrolled ×4 into 4 accumulators (B7.3: ~1.8× on webasm); group scale applied once per group.
export function f32Kernel(this: KernelThis, x: Float32Array): number {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  for (let c = 0; c < this.constants.R; c += 4) {
    a0 += this.constants.W[this.thread.x][c] * x[c];
    a1 += this.constants.W[this.thread.x][c + 1] * x[c + 1];
    a2 += this.constants.W[this.thread.x][c + 2] * x[c + 2];
    a3 += this.constants.W[this.thread.x][c + 3] * x[c + 3];
  }
  return a0 + a1 + (a2 + a3);
}

export function int8Kernel(this: KernelThis, x: Float32Array): number {
  let acc = 0;
  for (let g = 0; g < this.constants.NG; g++) {
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    const b = g * this.constants.GP;
    for (let c = 0; c < this.constants.GP; c += 4) {
      a0 += this.constants.W[this.thread.x][b + c] * x[b + c];
      a1 += this.constants.W[this.thread.x][b + c + 1] * x[b + c + 1];
      a2 += this.constants.W[this.thread.x][b + c + 2] * x[b + c + 2];
      a3 += this.constants.W[this.thread.x][b + c + 3] * x[b + c + 3];
    }
    acc += (a0 + a1 + (a2 + a3)) * this.constants.S[this.thread.x][g];
  }
  return acc;
}

// (q - z) is a small exact integer, so each product is one f32 rounding as in dequantize-then-matmul;
// the cheaper q·x - z·Σx form would cancel catastrophically.
export function int4Kernel(this: KernelThis, x: Float32Array): number {
  let acc = 0;
  for (let g = 0; g < this.constants.NG; g++) {
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    const z = this.constants.Z[this.thread.x][g];
    const b = g * this.constants.E;
    for (let e = 0; e < this.constants.E; e++) {
      const v = this.constants.W[this.thread.x][b + e];
      const kk = (b + e) * 4;
      a0 += ((v & 15) - z) * x[kk];
      a1 += (((v >> 4) & 15) - z) * x[kk + 1];
      a2 += (((v >> 8) & 15) - z) * x[kk + 2];
      a3 += ((v >> 12) - z) * x[kk + 3];
    }
    acc += (a0 + a1 + (a2 + a3)) * this.constants.S[this.thread.x][g];
  }
  return acc;
}

/** x [4][rowLen]: four tokens' gathered inputs; returns the 4 outputs of row n. */
export function f32Kernel4(this: KernelThis, x: Float32Array[]): number[] {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  for (let c = 0; c < this.constants.R; c++) {
    const w = this.constants.W[this.thread.x][c];
    a0 += w * x[0][c];
    a1 += w * x[1][c];
    a2 += w * x[2][c];
    a3 += w * x[3][c];
  }
  return [a0, a1, a2, a3];
}

export function int8Kernel4(this: KernelThis, x: Float32Array[]): number[] {
  let y0 = 0;
  let y1 = 0;
  let y2 = 0;
  let y3 = 0;
  for (let g = 0; g < this.constants.NG; g++) {
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    const b = g * this.constants.GP;
    for (let c = 0; c < this.constants.GP; c++) {
      const w = this.constants.W[this.thread.x][b + c];
      a0 += w * x[0][b + c];
      a1 += w * x[1][b + c];
      a2 += w * x[2][b + c];
      a3 += w * x[3][b + c];
    }
    const s = this.constants.S[this.thread.x][g];
    y0 += a0 * s;
    y1 += a1 * s;
    y2 += a2 * s;
    y3 += a3 * s;
  }
  return [y0, y1, y2, y3];
}

export function int4Kernel4(this: KernelThis, x: Float32Array[]): number[] {
  let y0 = 0;
  let y1 = 0;
  let y2 = 0;
  let y3 = 0;
  for (let g = 0; g < this.constants.NG; g++) {
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    const z = this.constants.Z[this.thread.x][g];
    const b = g * this.constants.E;
    for (let e = 0; e < this.constants.E; e++) {
      const v = this.constants.W[this.thread.x][b + e];
      const kk = (b + e) * 4;
      const q0 = (v & 15) - z;
      const q1 = ((v >> 4) & 15) - z;
      const q2 = ((v >> 8) & 15) - z;
      const q3 = (v >> 12) - z;
      a0 += q0 * x[0][kk] + q1 * x[0][kk + 1] + (q2 * x[0][kk + 2] + q3 * x[0][kk + 3]);
      a1 += q0 * x[1][kk] + q1 * x[1][kk + 1] + (q2 * x[1][kk + 2] + q3 * x[1][kk + 3]);
      a2 += q0 * x[2][kk] + q1 * x[2][kk + 1] + (q2 * x[2][kk + 2] + q3 * x[2][kk + 3]);
      a3 += q0 * x[3][kk] + q1 * x[3][kk + 1] + (q2 * x[3][kk + 2] + q3 * x[3][kk + 3]);
    }
    const s = this.constants.S[this.thread.x][g];
    y0 += a0 * s;
    y1 += a1 * s;
    y2 += a2 * s;
    y3 += a3 * s;
  }
  return [y0, y1, y2, y3];
}
