// Assembles kernels/wasm/*.wat into kernels/wasm/build/<name>-<hash>.wasm with the wabt npm package.
// Plain JS so that scripts/build.mjs (npm ci) and the run-time fallback (assemble.ts, via a child
// process because wabt's initialisation is asynchronous) share one implementation.
// Usage: node kernels/wasm/assemble.mjs [name ...]   (default: matmul) writes build/ and prints the paths;
//        node kernels/wasm/assemble.mjs --base64 name  prints the binary as base64 (writes nothing).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const wasmDir = dirname(fileURLToPath(import.meta.url));

/** Build file name for a .wat source text: the hash makes a stale binary impossible to pick up. */
export function binaryName(name, watText) {
  const hash = createHash('sha256').update(watText).digest('hex').slice(0, 16);
  return `${name}-${hash}.wasm`;
}

/**
 * Modules made of several sources, the others' functions added before the first's closing parenthesis: "matmul" is
 * matmul.wat with activation.wat (silu·up); "matmul-relaxed" adds relaxed.wat (the relaxed-SIMD kernels need every
 * baseline kernel too: one module per pool).
 * Mirrored by composeSource in assemble.ts (test/wasm-assemble.test.ts checks that they agree).
 */
export const COMPOSED = { matmul: ['matmul', 'activation'], 'matmul-relaxed': ['matmul', 'activation', 'relaxed'] };

/** The .wat text of module `name` (a file, or a composition above). */
export function sourceText(name) {
  const [base, ...rest] = (COMPOSED[name] ?? [name]).map((p) => readFileSync(join(wasmDir, `${p}.wat`), 'utf8'));
  if (!rest.length) return base;
  const end = base.lastIndexOf(')');
  return base.slice(0, end) + rest.join('\n') + base.slice(end);
}

export async function assembleText(filename, watText) {
  const wabt = await (await import('wabt')).default();
  const features = { simd: true, threads: true, relaxed_simd: true };
  const mod = wabt.parseWat(filename, watText, features);
  try {
    mod.validate(features);
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

/** Assembles kernels/wasm/<name>.wat into build/ (if not already there); returns the binary's path. */
export async function assembleToBuild(name) {
  const src = join(wasmDir, `${name}.wat`);
  const text = sourceText(name);
  const out = join(wasmDir, 'build', binaryName(name, text));
  const bytes = await assembleText(src, text);
  mkdirSync(dirname(out), { recursive: true });
  // Write then rename so a concurrent reader never sees a half-written binary.
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, out);
  // Binaries of earlier versions of the source are never read again.
  for (const f of readdirSync(dirname(out)))
    if (/^[0-9a-f]{16}\.wasm$/.test(f.slice(name.length + 1)) && f.startsWith(`${name}-`) && join(dirname(out), f) !== out)
      rmSync(join(dirname(out), f), { force: true });
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const base64 = args[0] === '--base64';
  const names = base64 ? args.slice(1) : args;
  for (const name of names.length ? names : ['matmul']) {
    try {
      if (base64) {
        const src = join(wasmDir, `${name}.wat`);
        process.stdout.write(Buffer.from(await assembleText(src, sourceText(name))).toString('base64'));
      } else console.log(await assembleToBuild(name));
    } catch (e) {
      console.error(`kernels/wasm/${name}.wat: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    }
  }
}
