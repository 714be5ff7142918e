/**
 * gpu.js linear kernels (f32 / int8 / int4, perm, bias) against the plain-TS reference on the gpu.js
 * modes that run without a GPU; the tolerance is derived in test/helpers/gpujs-linear-suite.ts.
 */
import { describe, expect, it } from 'vitest';
import { createGpujsBackend } from '../kernels/gpujs/backend.ts';
import { gatherInput, layoutLinear } from '../kernels/gpujs/linear-layout.ts';
import type { LinearWeight } from '../kernels/types.ts';
import { CPU_MODES, expectWithin, randoms } from './helpers/gpujs.ts';
import { linearSuite, refAndBound } from './helpers/gpujs-linear-suite.ts';

describe('gpu.js linear layout', () => {
  it('pack16 int4 holds 4 nibbles per element in padded group order and gathers x through perm', () => {
    const w: LinearWeight = {
      format: 'int4',
      n: 1,
      k: 5,
      groupSize: 3,
      scales: new Float32Array([1, 1]),
      zeros: null,
      packed: Uint8Array.from([0x21, 0x43, 0x05]),
      perm: Int32Array.from([4, 3, 2, 1, 0]),
    };
    const L = layoutLinear(w);
    // groups of 3 padded to 4: q = [1,2,3,_ | 4,5,_,_] -> elements 1+2·16+3·256 and 4+5·16
    expect(L.groupPad).toBe(4);
    expect(Array.from(L.w)).toEqual([1 + 2 * 16 + 3 * 256, 4 + 5 * 16]);
    expect(Array.from(L.src)).toEqual([4, 3, 2, -1, 1, 0, -1, -1]);
    const xg = gatherInput(Float32Array.from([10, 11, 12, 13, 14]), 0, 5, L.src, new Float32Array(8));
    expect(Array.from(xg)).toEqual([14, 13, 12, 0, 11, 10, 0, 0]);
  });
});

for (const mode of CPU_MODES) linearSuite(mode);

describe('gpu.js webasm linear past 2^24 weight elements', () => {
  // 4104 x 4096 int8 is where a flat f32 index first goes wrong on webasm (cpu-performance.md B6.1);
  // rows past 2^24 / 4096 = 4096 would read the wrong weights if any index were flat.
  it('4104x4096 int8 matches the reference on every row', async () => {
    const be = await createGpujsBackend('webasm');
    try {
      const n = 4104;
      const k = 4096;
      const w: LinearWeight = {
        format: 'int8',
        n,
        k,
        groupSize: 128,
        q: new Int8Array(n * k).map((_, i) => (Math.imul(i, 2654435761) >>> 24) - 128),
        scales: randoms(12, n * 32, 0.01),
      };
      const x = randoms(13, k);
      const y = await be.linear(be.uploadLinear(w), x, 1);
      const [ref, bound] = refAndBound(w, x, 1, null);
      expectWithin(y, ref, bound, 'webasm 4104x4096 int8');
    } finally {
      be.dispose();
    }
  });
});

describe('gpu.js webasm threaded linear', () => {
  // With threads, launches of ≥ 4096 cells split over a worker pool; gpu.js promises identical results.
  it('equals the single-threaded result bit for bit on a 4100-row int4 weight', async () => {
    const w: LinearWeight = {
      format: 'int4',
      n: 4100,
      k: 96,
      groupSize: 32,
      packed: new Uint8Array(4100 * 48).map((_, i) => Math.imul(i, 2654435761) >>> 24),
      scales: randoms(21, 4100 * 3, 0.02),
      zeros: new Uint8Array(4100 * 3).map((_, i) => i % 16),
    };
    const x = randoms(22, 2 * 96);
    const threaded = await createGpujsBackend('webasm', { threads: true });
    const single = await createGpujsBackend('webasm');
    try {
      expect(threaded.threads).toBe(2);
      const a = await threaded.linear(threaded.uploadLinear(w), x, 2);
      const b = await single.linear(single.uploadLinear(w), x, 2);
      expect(a).toEqual(b);
    } finally {
      threaded.dispose();
      single.dispose();
    }
  });
});
