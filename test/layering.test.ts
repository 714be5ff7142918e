/** The layering rule (test/helpers/layering.ts) holds over the tree, and its checker does catch bad arrows. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collectEdges, folderCycles, layeringViolations, relativeImports, terminalUses, terminalUsesUnder } from './helpers/layering.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FOLDERS = ['kernels', 'engine', 'models', 'analysis', 'cli', 'bench'];

describe('layering: kernels ← engine ← models ← analysis ← cli/bench', () => {
  const edges = collectEdges(ROOT, FOLDERS);

  it('reads the imports of every layer', () => {
    expect(edges.length).toBeGreaterThan(100);
    for (const f of FOLDERS) expect(edges.some((e) => e.from.startsWith(`${f}/`))).toBe(true);
  });

  it('no import breaks the layering', () => {
    expect(layeringViolations(edges)).toEqual([]);
  });

  it('no folder import circles inside analysis/', () => {
    expect(folderCycles(edges, 'analysis')).toEqual([]);
  });

  it('analysis/ never prints, draws bars, handles signals or exits (cli/ does)', () => {
    expect(terminalUsesUnder(ROOT, 'analysis')).toEqual([]);
  });
});

describe('the layering checker', () => {
  it('finds static, re-export, side-effect and dynamic imports, skipping packages', () => {
    const src = [
      "import { a } from '../engine/errors.ts';",
      "import type { B } from './b.ts';",
      "export { c } from '../models/c.ts';",
      "import './side.ts';",
      "const d = await import('../kernels/d.ts');",
      "import fs from 'node:fs';",
      "import { Command } from 'commander';",
      'import {\n  e,\n  f,\n} from "../analysis/e.ts";',
    ].join('\n');
    expect(relativeImports(src)).toEqual([
      '../engine/errors.ts',
      './b.ts',
      '../models/c.ts',
      './side.ts',
      '../kernels/d.ts',
      '../analysis/e.ts',
    ]);
  });

  it('flags upward arrows, analysis -> kernels, and kernels -> engine beyond the exception', () => {
    const bad = layeringViolations([
      { from: 'engine/x.ts', to: 'models/load.ts' },
      { from: 'analysis/direction/y.ts', to: 'kernels/formats.ts' },
      { from: 'kernels/wasm/z.ts', to: 'engine/config.ts' },
      { from: 'cli/commands/a.ts', to: 'bench/decode.ts' },
      { from: 'models/m.ts', to: 'analysis/logit-math.ts' },
    ]);
    expect(bad).toHaveLength(5);
    expect(bad[0]).toMatch(/engine may not import models/);
    expect(bad[1]).toMatch(/analysis reaches weight formats through models/);
  });

  it('allows downward arrows and the kernels -> engine/errors.ts, engine/numbers.ts exception', () => {
    expect(
      layeringViolations([
        { from: 'kernels/wasm/pool.ts', to: 'engine/errors.ts' },
        { from: 'kernels/select.ts', to: 'engine/numbers.ts' },
        { from: 'cli/commands/study.ts', to: 'kernels/select.ts' },
        { from: 'analysis/eval/evaluate.ts', to: 'models/load.ts' },
        { from: 'bench/decode.ts', to: 'analysis/model-runs.ts' },
      ]),
    ).toEqual([]);
  });

  it('finds folder circles inside analysis/', () => {
    const cycles = folderCycles(
      [
        { from: 'analysis/direction/a.ts', to: 'analysis/eval/b.ts' },
        { from: 'analysis/eval/b.ts', to: 'analysis/direction/c.ts' },
        { from: 'analysis/eval/b.ts', to: 'analysis/model-runs.ts' },
      ],
      'analysis',
    );
    expect(cycles).toEqual(['analysis/direction -> analysis/eval -> analysis/direction']);
    expect(folderCycles([{ from: 'analysis/eval/b.ts', to: 'analysis/model-runs.ts' }], 'analysis')).toEqual([]);
  });

  it('finds terminal code: stdout/stderr writes, signal handlers, exits, cli-progress', () => {
    const src = [
      "process.stderr.write('x');",
      "process.on('SIGINT', f);",
      "import cp from 'cli-progress';",
      'const p = process.pid;',
      'if (x) process.exit(130);',
    ].join('\n');
    expect(terminalUses(src).map((u) => u.split(':')[0])).toEqual(['line 1', 'line 2', 'line 3', 'line 5']);
  });
});
