/** Distribution comparisons of logits rows: mean KL(P || Q) and top-1 agreement. */
function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(row, (v) => v - lse);
}

export function compareLogits(p: Float32Array, q: Float32Array, vocab: number): { kl: number; top1: number; rows: number } {
  const rows = p.length / vocab;
  let kl = 0;
  let agree = 0;
  for (let r = 0; r < rows; r++) {
    const a = p.subarray(r * vocab, (r + 1) * vocab);
    const b = q.subarray(r * vocab, (r + 1) * vocab);
    const la = logSoftmax(a);
    const lb = logSoftmax(b);
    let k = 0;
    for (let i = 0; i < vocab; i++) k += Math.exp(la[i]) * (la[i] - lb[i]);
    kl += k;
    let ia = 0;
    let ib = 0;
    for (let i = 1; i < vocab; i++) {
      if (a[i] > a[ia]) ia = i;
      if (b[i] > b[ib]) ib = i;
    }
    if (ia === ib) agree++;
  }
  return { kl: kl / rows, top1: agree / rows, rows };
}
