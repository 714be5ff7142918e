/**
 * Backend selection. Order of precedence: an explicit name, then GLASSBOX_BACKEND, then the automatic
 * choice: webgpu where a HARDWARE WebGPU adapter answers (models then run resident on the device,
 * models/resident.ts), else the wasm SIMD kernels, else (only if that module fails to load) the plain-TS
 * reference. A software adapter (SwiftShader, lavapipe/llvmpipe, a fallback adapter) is never chosen
 * automatically: it is correct but slower than wasm-simd; asking for webgpu by name still uses one.
 * On Linux a hardware adapter needs a GPU device node (/dev/dri/renderD*, /dev/nvidia*): without one the
 * probe is skipped (no 18 MB Dawn load, no Vulkan warnings). GLASSBOX_NO_WEBGPU=1 also skips it.
 * Backend modules are imported lazily, so choosing one never loads the others.
 */
import { existsSync, readdirSync } from 'node:fs';
import { UsageError } from '../engine/errors.ts';
import type { Backend, BackendName } from './types.ts';
import { createReferenceBackend } from './reference/backend.ts';

export const BACKEND_ENV = 'GLASSBOX_BACKEND';
export const BACKEND_NAMES: readonly BackendName[] = ['webgpu', 'webasm', 'cpu', 'wasm-simd', 'reference'];

let wasmLoadFailed = false;
let wasmLoad: Promise<{ mod: typeof import('./wasm/backend.ts') | null; error: string | null }> | null = null;

/** GLASSBOX_BACKEND, validated; null when unset or empty. */
export function envBackendName(env: NodeJS.ProcessEnv = process.env): BackendName | null {
  const v = env[BACKEND_ENV]?.trim();
  if (!v) return null;
  if (!(BACKEND_NAMES as readonly string[]).includes(v))
    throw new UsageError(`${BACKEND_ENV}=${v} is not a backend; use one of ${BACKEND_NAMES.join(', ')}`);
  return v as BackendName;
}

/**
 * Whether the wasm-simd backend can be used: its module is part of the build (imported literally, so
 * bundles include it), so this is true unless an earlier attempt to load it failed.
 */
export function wasmSimdPresent(): boolean {
  return !wasmLoadFailed;
}

function loadWasm() {
  wasmLoad ??= import('./wasm/backend.ts').then(
    (mod) => ({ mod, error: null }),
    (e: unknown) => {
      wasmLoadFailed = true;
      return { mod: null, error: String((e as Error)?.message ?? e) };
    },
  );
  return wasmLoad;
}

/** Whether this machine could have a hardware GPU adapter (Linux: a DRM render node or an NVIDIA device). */
export function gpuDeviceNodePresent(): boolean {
  if (process.platform !== 'linux') return true;
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

let hardwareGpu: boolean | null = null;

/** Probes (once) for a hardware WebGPU adapter; false without a GPU device node or with GLASSBOX_NO_WEBGPU=1. */
export async function hardwareWebgpuPresent(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (env.GLASSBOX_NO_WEBGPU === '1' || !gpuDeviceNodePresent()) return false;
  if (hardwareGpu === null) {
    const { hardwareWebgpuAdapter } = await import('./gpujs/webgpu.ts');
    hardwareGpu = (await hardwareWebgpuAdapter()) !== null;
  }
  return hardwareGpu;
}

/**
 * The backend createBackend() would pick, answered synchronously from what is known so far: the env
 * override, else webgpu if a hardware adapter was already found, else wasm-simd unless its module already
 * failed to load, else reference.
 */
export function defaultBackendName(env: NodeJS.ProcessEnv = process.env): BackendName {
  const fromEnv = envBackendName(env);
  if (fromEnv) return fromEnv;
  if (hardwareGpu && env.GLASSBOX_NO_WEBGPU !== '1') return 'webgpu';
  return wasmSimdPresent() ? 'wasm-simd' : 'reference';
}

/** Like defaultBackendName(), after probing for a hardware WebGPU adapter and loading the wasm module (once). */
export async function resolveBackendName(env: NodeJS.ProcessEnv = process.env): Promise<BackendName> {
  const fromEnv = envBackendName(env);
  if (fromEnv) return fromEnv;
  if (await hardwareWebgpuPresent(env)) return 'webgpu';
  await loadWasm();
  return defaultBackendName(env);
}

export async function createBackend(name?: BackendName, env: NodeJS.ProcessEnv = process.env): Promise<Backend> {
  const chosen = name ?? (await resolveBackendName(env));
  switch (chosen) {
    case 'reference':
      return createReferenceBackend();
    case 'wasm-simd': {
      const { mod, error } = await loadWasm();
      if (!mod) throw new UsageError(`backend wasm-simd could not be loaded: ${error}`);
      return mod.createWasmSimdBackend();
    }
    case 'cpu':
    case 'webasm':
    case 'webgpu': {
      const { createGpujsBackend } = await import('./gpujs/backend.ts');
      return createGpujsBackend(chosen);
    }
    default:
      throw new UsageError(`backend ${String(chosen)} is not one of ${BACKEND_NAMES.join(', ')}`);
  }
}
