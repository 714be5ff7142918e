/**
 * How much memory the GPU has. WebGPU does not say (no memory size in GPUAdapterInfo or limits; Dawn's
 * memory-heaps feature is not exposed by the `webgpu` package), so: GLASSBOX_GPU_MEMORY_MB when set, else
 * `nvidia-smi` on NVIDIA hardware, else unknown (null: nothing is refused up front; an allocation the
 * device cannot make then fails at upload).
 */
import { spawnSync } from 'node:child_process';
import { integerFromEnv } from '../../engine/numbers.ts';
import type { WebgpuAdapterInfo } from '../gpujs/webgpu.ts';

export const GPU_MEMORY_ENV = 'GLASSBOX_GPU_MEMORY_MB';

export interface GpuMemoryBudget {
  bytes: number;
  /** Where the number came from: the variable, or nvidia-smi. */
  source: string;
}

export function gpuMemoryBudget(
  adapter: WebgpuAdapterInfo,
  env: NodeJS.ProcessEnv = typeof process === 'undefined' ? {} : process.env,
): GpuMemoryBudget | null {
  // A browser page cannot ask nvidia-smi; WebGPU itself reports no memory size.
  if (typeof process === 'undefined') return null;
  const mb = integerFromEnv(env, GPU_MEMORY_ENV, { min: 1 });
  if (mb !== undefined) return { bytes: mb * 2 ** 20, source: GPU_MEMORY_ENV };
  if (adapter.software || !/nvidia/i.test(`${adapter.vendor} ${adapter.description}`)) return null;
  const r = spawnSync('nvidia-smi', ['--query-gpu=memory.total', '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 5000 });
  const first = Number.parseInt((r.stdout ?? '').trim().split('\n')[0] ?? '', 10);
  return Number.isFinite(first) && first > 0 ? { bytes: first * 2 ** 20, source: 'nvidia-smi memory.total' } : null;
}
