/**
 * activation.wat's att_softmax against the JavaScript loops it replaced in kernels/wasm/attention.ts (the same as
 * js-ops.ts' attention), compared in float64, bit for bit: the attention tests compare float32 outputs, where a
 * last-bit difference in a double would hide. Scores near zero and far from it, infinities, NaN, masked keys, rows
 * with no real key, every length mod 4.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadKernelModule } from '../kernels/wasm/assemble.ts';

const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
const { att_softmax } = new WebAssembly.Instance(loadKernelModule(), { env: { memory } }).exports as {
  att_softmax: (sc: number, valid: number, nk: number) => number;
};
const SC = 1024;
const VALID = 8192;

/** The definition: attention.ts' loops before att_softmax. */
function softmaxJs(scores: Float64Array, keyValid: Uint8Array, nk: number): boolean {
  let max = -Infinity;
  let visible = false;
  for (let j = 0; j < nk; j++) {
    if (!keyValid[j]) {
      scores[j] = -Infinity;
      continue;
    }
    visible = true;
    const sc = scores[j];
    if (sc > max || sc !== sc) max = sc;
  }
  if (!visible) return false;
  if (max === -Infinity) max = NaN;
  let sum = 0;
  for (let j = 0; j < nk; j++) {
    const e = keyValid[j] ? Math.exp(scores[j] - max) : 0;
    scores[j] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let j = 0; j < nk; j++) scores[j] = scores[j] * inv;
  return true;
}

describe('att_softmax', () => {
  it('equals the JavaScript softmax in float64, bit for bit', () => {
    const score = fc.oneof(
      { weight: 6, arbitrary: fc.double({ min: -60, max: 60, noNaN: true }) },
      { weight: 2, arbitrary: fc.double({ min: -1e-6, max: 1e-6, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom(Infinity, -Infinity, NaN, 0, -0, 745, -745, 709.8, 1e300, -1e300) },
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(score, fc.oneof({ weight: 5, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(0, 2) })), {
          minLength: 1,
          maxLength: 67,
        }),
        (keys) => {
          const nk = keys.length;
          const want = Float64Array.from(keys, ([s]) => s);
          const valid = Uint8Array.from(keys, ([, v]) => v);
          const sc = new Float64Array(memory.buffer, SC, nk + 3);
          sc.set(want);
          sc.fill(12345.5, nk); // what follows the scores is never stored to
          new Uint8Array(memory.buffer, VALID, nk).set(valid);
          const visible = softmaxJs(want, valid, nk);
          expect(att_softmax(SC, VALID, nk)).toBe(visible ? 1 : 0);
          for (let j = 0; j < nk; j++)
            expect(Object.is(sc[j], want[j]) || (Number.isNaN(sc[j]) && Number.isNaN(want[j])), `key ${j} of ${nk}`).toBe(true);
          for (let j = nk; j < nk + 3; j++) expect(sc[j]).toBe(12345.5);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
