/** Locates ../shared (the read-only fixtures next to the project); tests that need it skip when absent. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const candidate = path.resolve(projectRoot, '../shared');
export const sharedDir: string | null = existsSync(candidate) ? candidate : null;

let warned = false;
if (!sharedDir && !warned) {
  warned = true;
  console.log(`[tests] ${candidate} not found: tests that need ../shared are skipped`);
}

export const describeShared = sharedDir ? describe : describe.skip;
