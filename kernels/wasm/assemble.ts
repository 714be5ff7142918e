/**
 * Loads the assembled kernel module synchronously (backends are created synchronously). The binary
 * comes from kernels/wasm/build/ (written by `npm ci` / `npm run build` via scripts/build.mjs), named by
 * the hash of the .wat text; when absent or stale (fresh clone without the build step, edited .wat)
 * it is assembled now by running assemble.mjs in a child process (wabt initialises asynchronously),
 * and cached in build/ when that folder is writable.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GlassboxError } from '../../engine/errors.ts';

/** The kernel sources could not be found or assembled. */
export class KernelBuildError extends GlassboxError {}

/** Modules made of several sources; must equal COMPOSED in assemble.mjs (test/wasm-assemble.test.ts). */
export const COMPOSED: Record<string, string[]> = {
  matmul: ['matmul', 'activation'],
  'matmul-relaxed': ['matmul', 'activation', 'relaxed'],
};
const parts = (name: string) => COMPOSED[name] ?? [name];

/** kernels/wasm/ next to this file, or (inside the bundled dist/cli.js) ../kernels/wasm. */
function sourceDir(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [here, join(here, '../kernels/wasm')]) if (parts(name).every((p) => existsSync(join(dir, `${p}.wat`)))) return dir;
  throw new KernelBuildError(`kernels/wasm/${parts(name).join('.wat, ')}.wat: not found next to ${here}`);
}

/** The .wat text of module `name`: one file, or the base with the others' functions before its last ")". */
function composeSource(dir: string, name: string): string {
  const [base, ...rest] = parts(name).map((p) => readFileSync(join(dir, `${p}.wat`), 'utf8'));
  if (!rest.length) return base;
  const end = base.lastIndexOf(')');
  return base.slice(0, end) + rest.join('\n') + base.slice(end);
}

/** Build file name for a .wat text; must match binaryName in assemble.mjs (checked by test/wasm-assemble.test.ts). */
export function binaryName(name: string, watText: string): string {
  return `${name}-${createHash('sha256').update(watText).digest('hex').slice(0, 16)}.wasm`;
}

/** Where the build step puts the binary for the current source, and whether it is there. */
export function builtBinaryPath(name = 'matmul'): string {
  const dir = sourceDir(name);
  return join(dir, 'build', binaryName(name, composeSource(dir, name)));
}

const cache = new Map<string, WebAssembly.Module>();

export function loadKernelBinary(name = 'matmul'): Uint8Array {
  const dir = sourceDir(name);
  const text = composeSource(dir, name);
  const built = join(dir, 'build', binaryName(name, text));
  if (existsSync(built)) return new Uint8Array(readFileSync(built));
  let b64: string;
  try {
    b64 = execFileSync(process.execPath, [join(dir, 'assemble.mjs'), '--base64', name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 << 20,
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new KernelBuildError(`kernels/wasm/${name}.wat: ${(err.stderr || err.message).trim().split('\n')[0]}`);
  }
  const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
  try {
    mkdirSync(dirname(built), { recursive: true });
    const tmp = `${built}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, built);
  } catch {
    // A read-only install still works: the module is assembled again next process.
  }
  return bytes;
}

/** The compiled kernel module (compiled once per process; shareable with workers). */
export function loadKernelModule(name = 'matmul'): WebAssembly.Module {
  let m = cache.get(name);
  if (!m) {
    m = new WebAssembly.Module(loadKernelBinary(name) as Uint8Array<ArrayBuffer>);
    cache.set(name, m);
  }
  return m;
}
