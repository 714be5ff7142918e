/**
 * The gpu.js instance behind one backend, a shape-keyed kernel cache and result flattening.
 * gpu.js' own typings model kernels generically; ops here only need "build with settings, call, destroy",
 * so the surface is narrowed to that and every kernel function is typed against `KernelThis`.
 */
import gpujs from 'gpu.js';

export type GpujsMode = 'cpu' | 'webasm' | 'webgpu';

/** What a kernel body sees as `this` (gpu.js injects it). */
export interface KernelThis {
  thread: { x: number; y: number; z: number };
  // Constants are per-kernel records of numbers and (2-D / 3-D) arrays; indexing them is the point.
  constants: any;
}

/** A gpu.js result: a typed array, or (2-D / 3-D outputs) arrays of row views; webgpu wraps it in a Promise. */
export type KernelResult = Float32Array | Float32Array[] | Float32Array[][];
export interface Kernel {
  (...args: unknown[]): KernelResult | Promise<KernelResult>;
  destroy(): void;
}

export interface KernelSettings {
  output: number[];
  constants?: Record<string, unknown>;
  loopMaxIterations?: number;
  asyncMode?: boolean;
  /** 'Array(4)': each cell returns 4 values (the result is then an array of Float32Array(4), one per cell). */
  returnType?: 'Array(2)' | 'Array(3)' | 'Array(4)';
}

interface GpuInstance {
  createKernel(fn: (...a: never[]) => number | number[], settings: Record<string, unknown>): Kernel;
  destroy(): Promise<void> | void;
}
interface GpujsModule {
  GPU: { new (s: { mode: string }): GpuInstance; isWebGPUAvailable(): Promise<boolean> };
  input(value: Float32Array, size: number[]): unknown;
}
const lib = gpujs as unknown as GpujsModule;

/** gpu.js `input()`: a flat array seen by the kernel as [..][..][x] (size lists the fastest axis first). */
export const input = (value: Float32Array, size: number[]): unknown => lib.input(value, size);

export const isWebgpuAvailable = (): Promise<boolean> => lib.GPU.isWebGPUAvailable();

/**
 * One gpu.js GPU plus a bounded cache of kernels keyed by shape signature. Ops build a kernel per distinct
 * shape (loop bounds must be constants: gpu.js silently truncates argument-bounded loops at 1000), so the
 * cache is what keeps a decode loop from recompiling on every call.
 */
export class GpujsRuntime {
  readonly gpu: GpuInstance;
  private readonly cache = new Map<string, Kernel>();

  constructor(
    readonly mode: GpujsMode,
    readonly threads: boolean,
    private readonly cacheLimit = 96,
  ) {
    this.gpu = new lib.GPU({ mode });
  }

  /** Builds a kernel (weights-as-constants kernels are not cached: their handle owns them). */
  build(fn: (...a: never[]) => number | number[], settings: KernelSettings): Kernel {
    return this.gpu.createKernel(fn, {
      asyncMode: this.threads,
      ...settings,
    });
  }

  /** The cached kernel for `key`, built on first use; least recently used kernels are destroyed past the limit. */
  cached(key: string, make: () => Kernel): Kernel {
    let k = this.cache.get(key);
    if (k) {
      this.cache.delete(key);
      this.cache.set(key, k);
      return k;
    }
    k = make();
    this.cache.set(key, k);
    while (this.cache.size > this.cacheLimit) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.get(oldest)!.destroy();
      this.cache.delete(oldest);
    }
    return k;
  }

  dispose(): void {
    for (const k of this.cache.values()) k.destroy();
    this.cache.clear();
    void this.gpu.destroy();
  }
}

/** Copies a (possibly nested) gpu.js result into one flat Float32Array of `length` values. */
export function flatten(r: KernelResult, length: number, out = new Float32Array(length)): Float32Array {
  let o = 0;
  const put = (v: Float32Array | Float32Array[] | Float32Array[][]): void => {
    if (v instanceof Float32Array) {
      out.set(v, o);
      o += v.length;
    } else for (const row of v) put(row);
  };
  put(r);
  if (o !== length) throw new RangeError(`gpu.js result holds ${o} values, expected ${length}`);
  return out;
}
