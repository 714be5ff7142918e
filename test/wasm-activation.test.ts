/**
 * kernels/wasm/activation.wat on its own: exp_f64 equals Math.exp (V8's fdlibm exp) bit for bit on any double,
 * thresholds and their neighbours included; silu_gate and gate_silu equal siluGateRef bit for bit on every f32 edge
 * (the same neighbourhoods, seen from -g), every tail length, strided layouts and biases. The backend paths that run
 * them are held to the reference in wasm-silu-gate.test.ts and wasm-gated.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { siluGateRef } from '../kernels/reference/ops.ts';
import { loadKernelModule } from '../kernels/wasm/assemble.ts';
import { rng } from './helpers/wasm-weights.ts';

const memory = new WebAssembly.Memory({ initial: 64, maximum: 64, shared: true });
const kernels = new WebAssembly.Instance(loadKernelModule(), { env: { memory } }).exports as Record<string, (...a: number[]) => void>;

const bitsOf = (x: number): bigint => {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, x);
  return v.getBigUint64(0);
};
const fromBits = (b: bigint): number => {
  const v = new DataView(new ArrayBuffer(8));
  v.setBigUint64(0, BigInt.asUintN(64, b));
  return v.getFloat64(0);
};

/** The doubles within `w` steps of x (by bit pattern: the next representable values), both signs. */
function around(x: number, w: number): number[] {
  const out: number[] = [];
  for (const s of [x, -x]) for (let i = -w; i <= w; i++) out.push(fromBits(bitsOf(s) + BigInt(i)));
  return out.filter((v) => !Number.isNaN(v) || Number.isNaN(x));
}

// fdlibm's branch points: ln2/2 and 1.5 ln2 (high words 0x3fd62e42 / 0x3ff0a2b2), 2^-28, the overflow and
// underflow thresholds, the subnormal results (k < -1021), and the k = ±1 boundary of the reduction.
const EDGES = [
  fromBits(0x3fd62e4300000000n),
  fromBits(0x3ff0a2b200000000n),
  2 ** -28,
  709.782712893384,
  745.1332191019411,
  708.3964185322641,
  707.7032713517042,
  0.5 * Math.LN2,
  1.5 * Math.LN2,
  Math.LN2,
  0,
  5e-324,
  2.2250738585072014e-308,
  1,
  1e300,
  Infinity,
];

/** exp_f64 over xs (in the kernel memory), starting at element n0 so that every tail length is covered. */
function expWasm(xs: number[], n0 = 0): Float64Array {
  const n = xs.length;
  new Float64Array(memory.buffer, 0, n).set(xs);
  kernels.exp_f64(0, n * 8, n0, n, 0);
  return new Float64Array(memory.buffer, n * 8, n).slice();
}

describe('exp_f64 (fdlibm exp in f64x2 lanes)', () => {
  it('equals Math.exp at and around every branch point of fdlibm', () => {
    const xs = [...EDGES.flatMap((e) => around(e, 40)), NaN, -NaN];
    const got = expWasm(xs);
    xs.forEach((x, i) => expect(Object.is(got[i], Math.exp(x)), `exp(${x})`).toBe(true));
  });

  it('equals Math.exp on any double and on the range that matters', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double(), fc.double({ min: -750, max: 750 }), fc.double({ min: -2, max: 2 })), { maxLength: 41 }),
        fc.nat(4),
        (xs, skip) => {
          const n0 = Math.min(skip, xs.length);
          const got = expWasm(xs, n0);
          for (let i = n0; i < xs.length; i++) expect(Object.is(got[i], Math.exp(xs[i])), `exp(${xs[i]})`).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
    const r = rng(5);
    const xs = Array.from({ length: 200_000 }, (_, i) => (i % 2 ? (r() - 0.5) * 1500 : (r() - 0.5) * 4));
    const got = expWasm(xs);
    let bad = 0;
    xs.forEach((x, i) => (bad += Object.is(got[i], Math.exp(x)) ? 0 : 1));
    expect(bad).toBe(0);
  });
});

/** f32 values next to each edge of exp(-g) (g = -x), and specials. */
const F32_EDGES = (() => {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const out: number[] = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 3.4028234663852886e38, -3.4028234663852886e38];
  for (const e of EDGES)
    for (const s of [e, -e]) {
      f[0] = s;
      const base = u[0];
      for (let i = -6; i <= 6; i++) {
        u[0] = base + i;
        if (Number.isFinite(f[0])) out.push(f[0]);
      }
    }
  return out;
})();

/** Widths that cross the kernels' 4-column steps and 32-column tiles, then any; and the rest of a result case. */
const RESULT_CASE = {
  width: fc.oneof(fc.constantFrom(1, 3, 4, 31, 32, 33, 36, 70), fc.integer({ min: 1, max: 90 })),
  t: fc.integer({ min: 1, max: 6 }),
  tokenLanes: fc.boolean(),
  bias: fc.boolean(),
  seed: fc.integer(),
};

/**
 * A matmul result of n columns for t tokens in the memory at 0 (token lanes: element (r, c) at c·stride + r, the
 * prefill matmul's layout; else rows of n + pad), f32 edges among its values; an optional bias of n after it (with
 * ±0, huge and subnormal values); the output's offset O past both, and a first row r0 < t.
 */
function placeResult(n: number, t: number, tokenLanes: boolean, bias: boolean, seed: number) {
  const r = rng(seed);
  const stride = tokenLanes ? t + (seed & 3) : n + (seed & 3);
  const [cs, rs] = tokenLanes ? [stride, 1] : [1, stride];
  const yLen = tokenLanes ? n * stride : t * stride;
  const y = Float32Array.from({ length: yLen }, () => (r() < 0.05 ? F32_EDGES[Math.floor(r() * F32_EDGES.length)] : (r() - 0.5) * 30));
  const b = bias
    ? Float32Array.from({ length: n }, () => (r() < 0.1 ? [0, -0, 3e38, -3e38, 1e-45][Math.floor(r() * 5)] : (r() - 0.5) * 2))
    : null;
  const [B, O] = [yLen * 4 + 64, yLen * 4 + n * 4 + 128];
  new Float32Array(memory.buffer, 0, yLen).set(y);
  if (b) new Float32Array(memory.buffer, B, n).set(b);
  return { y, b, cs, rs, bOff: b ? B : 0, O, r0: Math.floor(r() * t) };
}

describe('silu_gate and gate_silu', () => {
  it('silu_gate equals siluGateRef bit for bit: edges, random values, every start and tail', () => {
    const r = rng(11);
    const g = Float32Array.from([...F32_EDGES, ...Array.from({ length: 4099 }, () => (r() - 0.5) * 40)]);
    const u = Float32Array.from(g, () => (r() < 0.05 ? [0, -0, Infinity, NaN][Math.floor(r() * 4)] : (r() - 0.5) * 4));
    const want = siluGateRef(g, u);
    const n = g.length;
    const [G, U, Y] = [0, 1, 2].map((i) => i * n * 4 + 64 * i);
    new Float32Array(memory.buffer, G, n).set(g);
    new Float32Array(memory.buffer, U, n).set(u);
    for (const [n0, n1] of [
      [0, n],
      [1, n - 1],
      [2, 7],
      [3, 4],
      [5, 5],
    ]) {
      const y = new Float32Array(memory.buffer, Y, n).fill(7);
      kernels.silu_gate(G, U, Y, n0, n1, 0);
      for (let i = 0; i < n; i++) expect(Object.is(y[i], i >= n0 && i < n1 ? want[i] : 7), `element ${i} of [${n0}, ${n1})`).toBe(true);
    }
  });

  it('gate_silu equals siluGateRef on the f32 (biased) halves, any layout, any width, rows [r0, r1)', () => {
    fc.assert(
      fc.property(fc.record(RESULT_CASE), ({ width: dm, t, tokenLanes, bias, seed }) => {
        const { y, b, cs, rs, bOff, O, r0 } = placeResult(2 * dm, t, tokenLanes, bias, seed);
        const out = new Float32Array(memory.buffer, O, t * dm).fill(7);
        kernels.gate_silu(0, cs, rs, bOff, O, dm, r0, t, 0);
        for (let row = 0; row < t; row++) {
          // no bias: the values as they are (adding 0 would turn -0 into +0)
          const gate = Float32Array.from({ length: dm }, (_, j) => (b ? y[j * cs + row * rs] + b[j] : y[j * cs + row * rs]));
          const up = Float32Array.from({ length: dm }, (_, j) =>
            b ? y[(dm + j) * cs + row * rs] + b[dm + j] : y[(dm + j) * cs + row * rs],
          );
          const want = siluGateRef(gate, up);
          for (let j = 0; j < dm; j++) expect(Object.is(out[row * dm + j], row >= r0 ? want[j] : 7), `row ${row} column ${j}`).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('tr_bias', () => {
  it('equals y (+ b) in f32 bit for bit, any layout, any width, rows [r0, r1)', () => {
    fc.assert(
      fc.property(fc.record(RESULT_CASE), ({ width: n, t, tokenLanes, bias, seed }) => {
        const { y, b, cs, rs, bOff, O, r0 } = placeResult(n, t, tokenLanes, bias, seed);
        const out = new Float32Array(memory.buffer, O, t * n + 1).fill(7);
        kernels.tr_bias(0, cs, rs, bOff, O, n, r0, t, 0);
        for (let row = 0; row < t; row++)
          for (let j = 0; j < n; j++) {
            const v = y[j * cs + row * rs];
            // no bias: the value as it is (adding 0 would turn -0 into +0)
            const want = row < r0 ? 7 : b ? Math.fround(v + b[j]) : v;
            expect(Object.is(out[row * n + j], want), `row ${row} column ${j}`).toBe(true);
          }
        expect(out[t * n]).toBe(7); // nothing past the last row
      }),
      { numRuns: 300 },
    );
  });
});
