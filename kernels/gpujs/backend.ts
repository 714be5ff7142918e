/**
 * The gpu.js kernels as a Backend, on gpu.js' 'cpu' (transpiled JS), 'webasm' (WebAssembly, f32x4 SIMD)
 * or 'webgpu' (WGSL compute) mode. Every op is a gpu.js kernel; JS does only layout (gathering inputs,
 * padding, flattening results). Kernels are cached by shape signature; linear and embedding kernels
 * hold their weights as constants, built once per matrix.
 */
import { GlassboxError, ShapeError, UsageError } from '../../engine/errors.ts';
import { widenBf16Weight } from '../formats.ts';
import type { Backend, LinearHandle } from '../types.ts';
import { gpujsAttention } from './attention.ts';
import { gpujsAdd, gpujsGelu, gpujsSiluGate } from './elementwise.ts';
import { GpujsEmbedding } from './embedding.ts';
import { runGpujsLinear, uploadGpujsLinear, type GpujsLinearHandle } from './linear.ts';
import { gpujsLayerNorm, gpujsRmsNorm } from './norms.ts';
import { gpujsRope } from './rope.ts';
import { GpujsRuntime, type GpujsMode } from './runtime.ts';
import { webgpuAvailable, WebgpuUnavailableError } from './webgpu.ts';
import { checkWeight, weightBytes } from '../formats.ts';
import type { LinearWeight } from '../types.ts';
import { WgpuRuntime } from '../webgpu/runtime.ts';

interface LazyHandle extends LinearHandle {
  weight: LinearWeight;
  built: GpujsLinearHandle | null;
}

function checkOrThrow(w: LinearWeight): void {
  try {
    checkWeight(w, 'weight');
  } catch (e) {
    throw new ShapeError(`gpujs uploadLinear: ${(e as Error).message}`);
  }
}

export interface GpujsBackendOptions {
  /**
   * webasm only: run kernels under gpu.js' async contract so launches with ≥ 4096 output cells split over
   * a worker pool (B6.8). Off by default: results are identical, but workers cost startup and the
   * machines this runs on are often shared.
   */
  threads?: boolean;
}

export { WebgpuUnavailableError };

export async function createGpujsBackend(mode: GpujsMode, opts: GpujsBackendOptions = {}): Promise<Backend> {
  if (mode !== 'cpu' && mode !== 'webasm' && mode !== 'webgpu')
    throw new UsageError(`gpujs backend: mode must be cpu, webasm or webgpu, got ${String(mode)}`);
  if (mode === 'webgpu' && !(await webgpuAvailable()))
    throw new WebgpuUnavailableError('gpujs backend webgpu: no WebGPU adapter (navigator.gpu.requestAdapter() returned null)');
  const threads = mode === 'webasm' && !!opts.threads;
  const rt = new GpujsRuntime(mode, threads);
  const resident = mode === 'webgpu' ? await WgpuRuntime.create() : undefined;
  const emb = new GpujsEmbedding(rt);
  const handles = new Set<GpujsLinearHandle>();
  return {
    name: mode,
    threads: threads ? 2 : 1,
    resident,
    uploadLinear(w): LinearHandle {
      // webgpu: models run resident (models/resident.ts); the per-op kernel (weights as gpu.js constants) is
      // built on first use only, so a resident model does not hold a second copy of every matrix.
      // bf16 runs as the f32 weight it stands for (exact widening; gpu.js stores f32 constants anyway).
      const weight = w.format === 'bf16' ? widenBf16Weight(w) : w;
      if (resident) {
        checkOrThrow(weight);
        const lazy: LazyHandle = { n: weight.n, k: weight.k, format: weight.format, bytes: weightBytes(weight), weight, built: null };
        return lazy;
      }
      const h = uploadGpujsLinear(rt, weight);
      handles.add(h);
      return h;
    },
    linear: (h, x, t, bias) => {
      const lazy = h as LazyHandle;
      if (lazy.weight) {
        if (!lazy.built) {
          lazy.built = uploadGpujsLinear(rt, lazy.weight);
          handles.add(lazy.built);
        }
        return runGpujsLinear(lazy.built, x, t, bias);
      }
      return runGpujsLinear(h as GpujsLinearHandle, x, t, bias);
    },
    rmsNorm: (x, w, t, d, eps, addOne) => gpujsRmsNorm(rt, x, w, t, d, eps, addOne),
    layerNorm: (x, w, b, t, d, eps) => gpujsLayerNorm(rt, x, w, b, t, d, eps),
    rope: (x, pos, t, nHeads, headDim, invFreq) => gpujsRope(rt, x, pos, t, nHeads, headDim, invFreq),
    attention: (a) => gpujsAttention(rt, a),
    siluGate: (g, u) => gpujsSiluGate(rt, g, u),
    gelu: (x) => gpujsGelu(rt, x),
    add: (a, b) => gpujsAdd(rt, a, b),
    embedding: (table, ids, d) => emb.gather(table, ids, d),
    dispose() {
      for (const h of handles) h.dispose();
      handles.clear();
      emb.dispose();
      rt.dispose();
      resident?.dispose();
    },
  };
}
