// Build step run by `npm ci` (prepare) and `npm run build`: bundles the CLI with esbuild
// and assembles the hand-written WebAssembly text kernels (kernels/wasm/*.wat) with wabt.
import { build } from 'esbuild';
import { mkdirSync, existsSync } from 'node:fs';
import { assembleToBuild } from '../kernels/wasm/assemble.mjs';

mkdirSync('dist', { recursive: true });
if (existsSync('cli/main.ts')) {
  await build({
    entryPoints: ['cli/main.ts'],
    outfile: 'dist/cli.js',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    banner: { js: '#!/usr/bin/env node' },
    sourcemap: true,
    logLevel: 'warning',
  });
}

// Pre-assemble the wasm kernels into kernels/wasm/build/ (gitignored). The backend assembles lazily at
// first use when this step was skipped, so a failure here is reported but does not fail the install.
for (const name of ['matmul', 'matmul-relaxed']) {
  try {
    await assembleToBuild(name);
  } catch (e) {
    console.warn(
      `build: kernels/wasm/${name}.wat not pre-assembled (${e instanceof Error ? e.message : e}); it will be assembled at first use`,
    );
  }
}
