/** Backend selection: explicit name > GLASSBOX_BACKEND > automatic (wasm-simd > reference; webgpu is opt-in). */
import { describe, expect, it, vi } from 'vitest';
import { UsageError } from '../engine/errors.ts';
import { addRef } from '../kernels/reference/ops.ts';
import {
  BACKEND_ENV,
  createBackend,
  defaultBackendName,
  envBackendName,
  gpuDeviceNodePresent,
  hardwareWebgpuPresent,
  resolveBackendName,
  wasmSimdPresent,
} from '../kernels/select.ts';
import { isSoftwareAdapter, webgpuAdapter } from '../kernels/gpujs/webgpu.ts';
import type { BackendName } from '../kernels/types.ts';

const a = Float32Array.from([1.5, -2, 3e7]);
const b = Float32Array.from([0.25, 2, 1]);

describe('backend selection', () => {
  it('reads GLASSBOX_BACKEND, and rejects an unknown value naming the variable and the allowed values', () => {
    expect(envBackendName({})).toBeNull();
    expect(envBackendName({ [BACKEND_ENV]: ' webasm ' })).toBe('webasm');
    expect(defaultBackendName({ [BACKEND_ENV]: 'reference' })).toBe('reference');
    expect(() => envBackendName({ [BACKEND_ENV]: 'cuda' })).toThrow(UsageError);
    expect(() => defaultBackendName({ [BACKEND_ENV]: 'cuda' })).toThrow(
      /GLASSBOX_BACKEND=cuda .*webgpu, webasm, cpu, wasm-simd, reference/,
    );
  });

  it('chooses webgpu automatically only with a hardware adapter; never a software one (SwiftShader here)', async () => {
    expect(wasmSimdPresent()).toBe(true);
    const hardware = await hardwareWebgpuPresent({});
    const expected: BackendName = hardware ? 'webgpu' : 'wasm-simd';
    expect(await resolveBackendName({ GLASSBOX_NO_WEBGPU: '1' })).toBe('wasm-simd');
    expect(defaultBackendName({ GLASSBOX_NO_WEBGPU: '1' })).toBe('wasm-simd');
    expect(await resolveBackendName({})).toBe(expected);
    expect(defaultBackendName({})).toBe(expected);
    expect(await resolveBackendName({ [BACKEND_ENV]: 'webgpu' })).toBe('webgpu');
    // The override beats the automatic choice.
    expect(await resolveBackendName({ [BACKEND_ENV]: 'cpu' })).toBe('cpu');
  });

  it('classifies software adapters by name or fallback flag, and never auto-chooses the one found here if it is one', async () => {
    for (const d of ['SwiftShader driver 5.0.0', 'llvmpipe (LLVM 15.0.6, 256 bits)', 'lavapipe', 'Microsoft Basic Render Driver'])
      expect(isSoftwareAdapter({ description: d })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia', description: 'NVIDIA H100 80GB HBM3' })).toBe(false);
    expect(isSoftwareAdapter({ description: 'NVIDIA H100', isFallbackAdapter: true })).toBe(true);
    const any = await webgpuAdapter();
    if (any?.software) expect(await hardwareWebgpuPresent({})).toBe(false);
    if (!gpuDeviceNodePresent()) expect(await hardwareWebgpuPresent({})).toBe(false);
  });

  for (const name of ['reference', 'cpu', 'webasm'] as const) {
    it(`creates a working ${name} backend by name and via the env override`, async () => {
      for (const be of [await createBackend(name, {}), await createBackend(undefined, { [BACKEND_ENV]: name })]) {
        try {
          expect(be.name).toBe(name);
          expect(await be.add(a, b)).toEqual(addRef(a, b));
        } finally {
          be.dispose();
        }
      }
    });
  }

  it('creates a working wasm-simd backend', async () => {
    const be = await createBackend('wasm-simd', {});
    try {
      expect(be.name).toBe('wasm-simd');
      expect(await be.add(a, b)).toEqual(addRef(a, b));
    } finally {
      be.dispose();
    }
  });

  it('an explicit name beats the environment', async () => {
    const be = await createBackend('reference', { [BACKEND_ENV]: 'webasm' });
    expect(be.name).toBe('reference');
  });
});

describe('backend selection when the wasm module cannot load', () => {
  it('falls back to reference automatically, and names the failure when wasm-simd is asked for', async () => {
    vi.resetModules();
    vi.doMock('../kernels/wasm/backend.ts', () => {
      throw new Error('simulated load failure');
    });
    try {
      const sel = await import('../kernels/select.ts');
      expect(await sel.resolveBackendName({})).toBe('reference');
      expect(sel.wasmSimdPresent()).toBe(false);
      await expect(sel.createBackend('wasm-simd', {})).rejects.toThrow(/^backend wasm-simd could not be loaded: ./);
    } finally {
      vi.doUnmock('../kernels/wasm/backend.ts');
      vi.resetModules();
    }
  });
});
