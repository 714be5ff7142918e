/**
 * gpu.js norm, rope, attention, elementwise and embedding kernels against the plain-TS reference on the
 * gpu.js modes that run without a GPU (bounds derived in test/helpers/gpujs-ops-suite.ts), plus the
 * 2^24-cell chunking of elementwise launches.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { gpujsAdd, gpujsGelu, gpujsSiluGate } from '../kernels/gpujs/elementwise.ts';
import { GpujsRuntime } from '../kernels/gpujs/runtime.ts';
import { CPU_MODES, randoms } from './helpers/gpujs.ts';
import { opsSuite } from './helpers/gpujs-ops-suite.ts';

for (const mode of CPU_MODES) opsSuite(mode);

describe('gpu.js elementwise chunking', () => {
  // Launches are split at 2^24 cells (webasm's f32 index limit); a tiny chunk exercises the same path.
  const rt = new GpujsRuntime('webasm', false);
  afterAll(() => rt.dispose());
  it('gives the unchunked result for lengths that are not a multiple of the chunk', async () => {
    const a = randoms(5, 23, 10);
    const b = randoms(6, 23, 10);
    expect(await gpujsAdd(rt, a, b, 7)).toEqual(await gpujsAdd(rt, a, b));
    expect(await gpujsGelu(rt, a, 5)).toEqual(await gpujsGelu(rt, a));
    expect(await gpujsSiluGate(rt, a, b, 4)).toEqual(await gpujsSiluGate(rt, a, b));
  });
});
