/**
 * The interpretability compute files stay browser-safe (no Node built-ins, no `process`, no Buffer) and, like all of
 * analysis/, never import kernels/: the browser app calls them directly; file access lives in the loaders.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from './helpers/shared.ts';

const LOADERS = new Set(['analysis/sae/load.ts', 'analysis/project/load-direction.ts', 'analysis/report/write-page.ts']);
const COMPUTE = [
  ...['lens', 'patch', 'attention', 'project', 'sae'].flatMap((d) =>
    fs
      .readdirSync(path.join(projectRoot, 'analysis', d))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `analysis/${d}/${f}`),
  ),
  'analysis/report/heatmap.ts',
  'analysis/report/interp-views.ts',
  'analysis/token-labels.ts',
].filter((f) => !LOADERS.has(f));

/** The file's own imports and those of the project files it imports, transitively. */
function importClosure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const src = fs.readFileSync(path.join(projectRoot, file), 'utf8');
  for (const m of src.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^'"]*from\s+)?'([^']+)'/gm)) {
    if (m[1]) continue; // type-only imports vanish at run time
    const spec = m[2];
    if (spec.startsWith('.')) importClosure(path.relative(projectRoot, path.resolve(projectRoot, path.dirname(file), spec)), seen);
    else seen.add(spec);
  }
  return seen;
}

describe('interpretability compute files', () => {
  it.each(COMPUTE)('%s: imports no Node built-in and no kernels/ (transitively); uses no process / Buffer / setImmediate', (file) => {
    const closure = [...importClosure(file)];
    expect(closure.filter((s) => s.startsWith('node:') || ['fs', 'path', 'os', 'child_process'].includes(s))).toEqual([]);
    expect(closure.filter((s) => s.startsWith('kernels/'))).toEqual([]);
    // Module top levels of everything reachable may not touch process (a browser has none); this file itself not at all.
    for (const f of closure.filter((s) => s.endsWith('.ts')))
      expect(fs.readFileSync(path.join(projectRoot, f), 'utf8'), f).not.toMatch(/^\S.*\bprocess\./m);
    expect(fs.readFileSync(path.join(projectRoot, file), 'utf8')).not.toMatch(/\bprocess\.|\bBuffer\.|\bsetImmediate\(/);
  });
});
