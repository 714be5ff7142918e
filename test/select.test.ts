/** Backend selection: explicit name > GLASSBOX_BACKEND > automatic (wasm-simd > reference; webgpu is opt-in). */
import { describe, expect, it, vi } from 'vitest';
import { UsageError } from '../engine/errors.ts';
import { addRef } from '../kernels/reference/ops.ts';
import {
  BACKEND_ENV, createBackend, defaultBackendName, envBackendName, resolveBackendName, wasmSimdPresent,
} from '../kernels/select.ts';
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

  it('chooses wasm-simd automatically, even where a WebGPU adapter exists (webgpu is opt-in)', async () => {
    expect(wasmSimdPresent()).toBe(true);
    const expected: BackendName = 'wasm-simd';
    expect(await resolveBackendName({})).toBe(expected);
    expect(defaultBackendName({})).toBe(expected);
    expect(await resolveBackendName({ [BACKEND_ENV]: 'webgpu' })).toBe('webgpu');
    // The override beats the automatic choice.
    expect(await resolveBackendName({ [BACKEND_ENV]: 'cpu' })).toBe('cpu');
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
