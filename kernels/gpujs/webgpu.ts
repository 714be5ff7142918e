/**
 * WebGPU in Node: gpu.js looks for `navigator.gpu`, which Node does not have. The `webgpu` package
 * (Dawn) provides it; installing it is idempotent and must happen before gpu.js probes. Without a
 * Vulkan/Metal/D3D driver Dawn finds no adapter and `webgpuAvailable()` answers false.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isWebgpuAvailable } from './runtime.ts';

/**
 * On Linux Dawn reaches GPUs only through the Vulkan loader. Without libvulkan.so.1 the probe can only
 * fail, after loading an 18 MB native module and printing Dawn's warnings, so it is skipped.
 */
function vulkanLoaderMissing(): boolean {
  if (process.platform !== 'linux') return false;
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu',
    '/usr/lib64', '/lib64', '/usr/lib', '/lib', '/usr/local/lib',
  ];
  return !dirs.some((d) => existsSync(path.join(d, 'libvulkan.so.1')));
}

let probe: Promise<boolean> | null = null;

async function installAndProbe(): Promise<boolean> {
  // A browser (the web app's worker) has its own navigator.gpu: nothing to install, no process to ask.
  if ((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) return isWebgpuAvailable();
  if (vulkanLoaderMissing()) return false;
  try {
    const { create, globals } = (await import('webgpu')) as {
      create: (opts: string[]) => unknown;
      globals: Record<string, unknown>;
    };
    const g = globalThis as Record<string, unknown>;
    Object.assign(globalThis, globals);
    const nav = (g.navigator ?? {}) as Record<string, unknown>;
    if (!nav.gpu) {
      // Node 21+ defines a read-only navigator; define gpu on it, else replace navigator (Node 20).
      try {
        Object.defineProperty(nav, 'gpu', { value: create([]), configurable: true });
        if (!g.navigator) g.navigator = nav;
      } catch {
        g.navigator = { gpu: create([]) };
      }
    }
    return await isWebgpuAvailable();
  } catch {
    return false; // the native module failed to load (e.g. missing system libraries): no webgpu
  }
}

/** True when a WebGPU adapter answers; probed once per process. */
export function webgpuAvailable(): Promise<boolean> {
  probe ??= installAndProbe();
  return probe;
}
