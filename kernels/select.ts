/**
 * Backend selection. Order of precedence: an explicit name, then GLASSBOX_BACKEND, then the automatic
 * choice: the wasm SIMD kernels, else (only if that module fails to load) the plain-TS reference.
 * webgpu is opt-in (GLASSBOX_BACKEND=webgpu): its kernels are correct and a single matmul is fast on a GPU,
 * but every op is a separate gpu.js call with an upload and a readback, so whole-model decode measured
 * 20x slower than wasm-simd on an H100 machine (bench/results/webgpu-model-h100.json) — choosing it
 * automatically would slow down every user with a GPU. Backend modules are imported lazily, so choosing
 * one never loads the others (gpu.js and Dawn are not loaded unless a gpu.js backend is asked for).
 */
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

/**
 * The backend createBackend() would pick, answered synchronously from what is known so far: the env
 * override, else wasm-simd unless its module already failed to load, else reference.
 */
export function defaultBackendName(env: NodeJS.ProcessEnv = process.env): BackendName {
  const fromEnv = envBackendName(env);
  if (fromEnv) return fromEnv;
  return wasmSimdPresent() ? 'wasm-simd' : 'reference';
}

/** Like defaultBackendName(), after loading the wasm module (once). */
export async function resolveBackendName(env: NodeJS.ProcessEnv = process.env): Promise<BackendName> {
  const fromEnv = envBackendName(env);
  if (fromEnv) return fromEnv;
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
