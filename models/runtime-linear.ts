/**
 * Linears as the model runs them. A LinearGroup is the set of Linears that read the same input (q/k/v,
 * gate/up): when their formats agree they are uploaded as one row-concatenated matrix, so one matmul
 * (one weight stream, one thread-pool dispatch) serves all of them; each output row is computed exactly
 * as it would be alone. MixedWeight runs as the int8 `main` over all columns (outlier columns zeroed
 * there) plus the f32 `outlier` over the gathered outlier columns.
 */
import type { Backend, LinearHandle, LinearWeight } from '../kernels/types.ts';
import { concatRows } from './split-rows.ts';
import { checkW8A8, w8a8Linear } from '../kernels/w8a8/matmul.ts';
import type { W8A8Weight } from '../kernels/w8a8/types.ts';
import type { StepScope } from './step-buffers.ts';
import type { ModelLinear } from './types.ts';

/** What running one Linear needs once uploaded (no reference to its host-side weight arrays). */
interface Member {
  handle: LinearHandle | null;
  bias: Float32Array | null;
  /** MixedWeight only: the f32 outlier part and the input columns it reads. */
  outlierHandle: LinearHandle | null;
  outlierCols: Int32Array | null;
  /** LLM.int8() W8A8: runs on the JS int8 × int8 kernel from its int8 weight (no backend handle). */
  w8a8: W8A8Weight | null;
  k: number;
}

export class LinearGroup {
  private readonly fused: { handle: LinearHandle; bias: Float32Array | null; widths: number[] } | null;
  private readonly members: Member[];

  constructor(
    private readonly backend: Backend,
    lins: ModelLinear[],
  ) {
    const plain = lins.map((l) => l.weight).filter((w): w is LinearWeight => w.format !== 'mixed' && w.format !== 'w8a8');
    // The reference backend keeps the uploaded array itself: fusing there would only double the memory.
    if (lins.length > 1 && backend.name !== 'reference' && plain.length === lins.length && fusable(plain)) {
      const widths = plain.map((w) => w.n);
      const bias = lins.some((l) => l.bias) ? concatF32(lins.map((l) => l.bias ?? new Float32Array(l.weight.n))) : null;
      this.fused = { handle: backend.uploadLinear(concatRows(plain)), bias, widths };
      this.members = [];
    } else {
      this.fused = null;
      this.members = lins.map(({ weight: w, bias }) => {
        if (w.format === 'mixed')
          return {
            bias,
            k: w.k,
            handle: backend.uploadLinear(w.main),
            outlierHandle: backend.uploadLinear(w.outlier),
            outlierCols: w.outlierCols,
            w8a8: null,
          };
        if (w.format === 'w8a8') {
          checkW8A8(w);
          return { bias, k: w.k, handle: null, outlierHandle: null, outlierCols: null, w8a8: w };
        }
        return { bias, k: w.k, handle: backend.uploadLinear(w), outlierHandle: null, outlierCols: null, w8a8: null };
      });
    }
  }

  /**
   * x [t, K] -> one [t, N_i] per member (q|k|v, gate|up: members sharing their input). With a scope the results
   * live in its reusable arrays (step-buffers.ts); they are valid until the scope closes.
   */
  async applyEach(x: Float32Array, t: number, scope: StepScope | null = null): Promise<Float32Array[]> {
    if (!this.fused) return Promise.all(this.members.map((m) => runMember(this.backend, m, x, t, scope)));
    const { handle, bias, widths } = this.fused;
    const y = await this.backend.linear(handle, x, t, bias, scope?.f32(t * handle.n));
    if (widths.length === 1) return [y];
    const total = handle.n;
    let off = 0;
    // One row (decode): each member is a contiguous slice of y, which nothing else holds; views, not copies
    // (a fresh typed array per member per token is most of what a browser's allocator pays for in decode).
    if (t === 1)
      return widths.map((n) => {
        const v = y.subarray(off, off + n);
        off += n;
        return v;
      });
    return widths.map((n) => {
      const out = scope?.f32(t * n) ?? new Float32Array(t * n);
      for (let r = 0; r < t; r++) out.set(y.subarray(r * total + off, r * total + off + n), r * n);
      off += n;
      return out;
    });
  }

  /**
   * silu(gate)·up [t, N] for a [gate, up] group uploaded as one matrix, in one backend call (linearGated); null
   * where the backend lacks it or the pair is not fused (the caller then runs applyEach and siluGate).
   */
  async applyGated(x: Float32Array, t: number, scope: StepScope | null = null): Promise<Float32Array | null> {
    const f = this.fused;
    if (!f || f.widths.length !== 2 || f.widths[0] !== f.widths[1] || !this.backend.linearGated) return null;
    return await this.backend.linearGated(f.handle, x, t, f.bias, scope?.f32(t * f.widths[0]));
  }

  /** x [t, K] -> [t, N] for a one-member group (o, down, lm_head; the first member otherwise). */
  async apply(x: Float32Array, t: number, scope: StepScope | null = null): Promise<Float32Array> {
    return (await this.applyEach(x, t, scope))[0];
  }
}

async function runMember(backend: Backend, m: Member, x: Float32Array, t: number, scope: StepScope | null): Promise<Float32Array> {
  if (m.w8a8) return w8a8Linear(m.w8a8, x, t, m.bias).y;
  if (!m.handle) throw new Error('runtime linear: no uploaded weight');
  if (!m.outlierHandle) return await backend.linear(m.handle, x, t, m.bias, scope?.f32(t * m.handle.n));
  const cols = m.outlierCols!;
  const xo = new Float32Array(t * cols.length);
  for (let i = 0; i < t; i++) for (let j = 0; j < cols.length; j++) xo[i * cols.length + j] = x[i * m.k + cols[j]];
  const main = await backend.linear(m.handle!, x, t, m.bias);
  const extra = await backend.linear(m.outlierHandle!, xo, t, null);
  return await backend.add(main, extra);
}

/** Same format, K, group size and zero-point kind, and no input permutation. */
function fusable(ws: LinearWeight[]): boolean {
  const a = ws[0];
  return ws.every((w) => {
    if (w.format !== a.format || w.k !== a.k || w.perm) return false;
    if (w.format === 'f32' || w.format === 'bf16') return true;
    if (w.groupSize !== (a as typeof w).groupSize) return false;
    return w.format !== 'int4' || (w.zeros === null) === ((a as typeof w).zeros === null);
  });
}

function concatF32(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
