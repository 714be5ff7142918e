/**
 * Embedding gather. The table is large (vocab × d) and gpu.js re-uploads every argument per call, so each
 * table gets its own kernel with the table resident as constants (2-D [V][d]: no flat index over 2^24),
 * remembered per table array, called once per token with the id as a number (ids < 2^24 are f32-exact).
 */
import { ShapeError } from '../../engine/errors.ts';
import { expectDim } from './check.ts';
import { flatten, input, type GpujsRuntime, type Kernel, type KernelThis } from './runtime.ts';

function gatherKernel(this: KernelThis, id: number): number {
  return this.constants.E[id][this.thread.x];
}

export class GpujsEmbedding {
  private readonly kernels = new WeakMap<Float32Array, { d: number; k: Kernel }>();
  private readonly live = new Set<Kernel>();

  constructor(private readonly rt: GpujsRuntime) {}

  async gather(table: Float32Array, ids: Int32Array, d: number): Promise<Float32Array> {
    expectDim('embedding', 'd', d);
    if (table.length % d) throw new ShapeError(`gpujs embedding: table has ${table.length} values, not a multiple of d=${d}`);
    const v = table.length / d;
    let entry = this.kernels.get(table);
    if (!entry || entry.d !== d) {
      const k = this.rt.build(gatherKernel as never, { output: [d], constants: { E: input(table, [d, v]) } });
      entry = { d, k };
      this.kernels.set(table, entry);
      this.live.add(k);
    }
    const y = new Float32Array(ids.length * d);
    for (let i = 0; i < ids.length; i++) {
      if (!(ids[i] >= 0 && ids[i] < v)) throw new ShapeError(`gpujs embedding: ids[${i}] = ${ids[i]} outside the table's ${v} rows`);
      flatten(await entry.k(ids[i]), d, y.subarray(i * d, i * d + d));
    }
    return y;
  }

  dispose(): void {
    for (const k of this.live) k.destroy();
    this.live.clear();
  }
}
