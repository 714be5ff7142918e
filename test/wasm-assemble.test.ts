/** Kernel assembly (build-time and lazy paths agree) and worker lifecycle of the wasm-simd backend. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binaryName, builtBinaryPath, COMPOSED, loadKernelBinary, loadKernelModule } from '../kernels/wasm/assemble.ts';
import { createWasmSimdBackend } from '../kernels/wasm/backend.ts';
import { WasmKernelError } from '../kernels/wasm/errors.ts';
import { KERNELS, RELAXED_KERNELS } from '../kernels/wasm/pool.ts';
import { loadRelaxedKernels } from '../kernels/wasm/relaxed.ts';
import { projectRoot } from './helpers/shared.ts';

const assembler = join(projectRoot, 'kernels/wasm/assemble.mjs');

describe('wasm kernel assembly', () => {
  it('the lazy (child-process) assembly gives the same bytes as the loaded binary', () => {
    const b64 = execFileSync(process.execPath, [assembler, '--base64', 'matmul'], { encoding: 'utf8' });
    const lazy = new Uint8Array(Buffer.from(b64, 'base64'));
    expect(lazy.length).toBeGreaterThan(1000);
    expect(Buffer.from(loadKernelBinary()).equals(Buffer.from(lazy))).toBe(true);
  });

  it('the build step and the loader agree on the binary name, and the module exports every kernel', async () => {
    const mjs = (await import(assembler)) as { binaryName(n: string, t: string): string };
    expect(mjs.binaryName('matmul', 'abc')).toBe(binaryName('matmul', 'abc'));
    loadKernelBinary(); // writes the cache when build/ is writable
    expect(existsSync(builtBinaryPath())).toBe(true);
    expect(basename(builtBinaryPath())).toMatch(/^matmul-[0-9a-f]{16}\.wasm$/);
    const exports = WebAssembly.Module.exports(loadKernelModule()).map((e) => e.name);
    for (const k of KERNELS) if (!RELAXED_KERNELS.includes(k)) expect(exports).toContain(k);
    for (const k of RELAXED_KERNELS) expect(exports).not.toContain(k); // the base module must load without relaxed SIMD
  });

  it('the composed relaxed module: same composition in both assemblers, every kernel exported', async () => {
    const mjs = (await import(assembler)) as { COMPOSED: Record<string, string[]>; sourceText(n: string): string };
    expect(mjs.COMPOSED).toEqual(COMPOSED);
    expect(basename(builtBinaryPath('matmul-relaxed'))).toBe(binaryName('matmul-relaxed', mjs.sourceText('matmul-relaxed')));
    const b64 = execFileSync(process.execPath, [assembler, '--base64', 'matmul-relaxed'], { encoding: 'utf8' });
    expect(Buffer.from(loadKernelBinary('matmul-relaxed')).equals(Buffer.from(b64, 'base64'))).toBe(true);
    const r = loadRelaxedKernels();
    if (r.module) {
      const exports = WebAssembly.Module.exports(r.module).map((e) => e.name);
      for (const k of KERNELS) expect(exports).toContain(k);
    } else expect(r.reason).toMatch(/relaxed SIMD/);
  });
});

describe('wasm-simd worker lifecycle', () => {
  it('workers do not keep the process alive without dispose()', () => {
    const code = `
      const { createWasmSimdBackend } = await import(${JSON.stringify(join(projectRoot, 'kernels/wasm/backend.ts'))});
      const b = createWasmSimdBackend({ threads: 2 });
      const h = b.uploadLinear({ format: 'f32', n: 512, k: 512, w: new Float32Array(512 * 512).fill(1) });
      const y = b.linear(h, new Float32Array(512).fill(1), 1);
      console.log(y[0]);`;
    const dir = mkdtempSync(join(tmpdir(), 'glassbox-wasm-'));
    const script = join(dir, 'no-dispose.mjs');
    writeFileSync(script, code);
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: projectRoot, encoding: 'utf8', timeout: 30_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('512');
  });

  it('a disposed backend refuses further calls', () => {
    const b = createWasmSimdBackend({ threads: 2 });
    const h = b.uploadLinear({ format: 'f32', n: 300, k: 300, w: new Float32Array(90000) });
    b.dispose();
    expect(() => b.linear(h, new Float32Array(300), 1)).toThrow(WasmKernelError);
  });
});
