/** Sparsity accounting: zero weights / total weights, per matrix, per layer and over all prunable linears. */

export interface MatrixSparsity {
  layer: number;
  role: string;
  zeros: number;
  total: number;
  sparsity: number;
}

export interface SparsityReport {
  matrices: MatrixSparsity[];
  perLayer: { layer: number; zeros: number; total: number; sparsity: number }[];
  global: { zeros: number; total: number; sparsity: number };
}

export function countZeros(w: Float32Array): number {
  let z = 0;
  for (let i = 0; i < w.length; i++) if (w[i] === 0) z++;
  return z;
}

/** Aggregates per-matrix counts (dense f32 weights as the model runs them) into layer and global totals. */
export function sparsityReport(entries: { layer: number; role: string; dense: Float32Array }[]): SparsityReport {
  const matrices = entries.map(({ layer, role, dense }) => {
    const zeros = countZeros(dense);
    return { layer, role, zeros, total: dense.length, sparsity: dense.length ? zeros / dense.length : 0 };
  });
  const byLayer = new Map<number, { zeros: number; total: number }>();
  let zeros = 0;
  let total = 0;
  for (const m of matrices) {
    const e = byLayer.get(m.layer) ?? { zeros: 0, total: 0 };
    e.zeros += m.zeros;
    e.total += m.total;
    byLayer.set(m.layer, e);
    zeros += m.zeros;
    total += m.total;
  }
  const perLayer = [...byLayer.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([layer, e]) => ({ layer, ...e, sparsity: e.total ? e.zeros / e.total : 0 }));
  return { matrices, perLayer, global: { zeros, total, sparsity: total ? zeros / total : 0 } };
}
