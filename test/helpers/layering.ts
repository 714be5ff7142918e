/**
 * The layering rule, as data plus a checker, so test/layering.test.ts can run it over the tree and also over
 * synthetic bad imports (a checker that can never fail would prove nothing).
 *
 * Layers, lowest first: kernels ← engine ← models ← analysis ← cli/bench. A file may import its own layer or a
 * lower one, never a higher one.
 */
import fs from 'node:fs';
import path from 'node:path';

// bench sits one step above cli: benchmarks may borrow the CLI's terminal helpers (progress bar), never the reverse.
export const LAYERS: Record<string, number> = { kernels: 0, engine: 1, models: 2, analysis: 3, cli: 4, bench: 5 };

// The one exception: kernels throw the project's typed errors and parse env numbers strictly, and both modules
// import nothing else, so kernels stay free of model knowledge.
export const KERNEL_EXCEPTIONS = ['engine/errors.ts', 'engine/numbers.ts'];

/** One import arrow: `from` and `to` are repository-relative paths with '/' separators. */
export interface ImportEdge {
  from: string;
  to: string;
}

const IMPORT_RE = /(?:\bimport\s[^'"]*?\bfrom\s*|\bexport\s[^'"]*?\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

/** The relative import specifiers of a TypeScript source text (packages and node: builtins are skipped). */
export function relativeImports(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(IMPORT_RE)) if (m[1].startsWith('.')) out.push(m[1]);
  return out;
}

/** Every relative import arrow of the .ts/.mjs files under the given top-level folders of `root`. */
export function collectEdges(root: string, folders: string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'tiny-chat') walk(p);
      } else if (/\.(ts|mts|mjs|js)$/.test(e.name) && !e.name.endsWith('.d.ts')) {
        const from = path.relative(root, p).split(path.sep).join('/');
        for (const spec of relativeImports(fs.readFileSync(p, 'utf8'))) {
          const to = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
          edges.push({ from, to });
        }
      }
    }
  };
  for (const f of folders) if (fs.existsSync(path.join(root, f))) walk(path.join(root, f));
  return edges;
}

const top = (p: string): string => p.split('/')[0];

/** The arrows that break the rule, each as one readable line. */
export function layeringViolations(edges: ImportEdge[]): string[] {
  const bad: string[] = [];
  for (const { from, to } of edges) {
    const a = top(from);
    const b = top(to);
    if (!(a in LAYERS)) continue;
    if (!(b in LAYERS)) {
      bad.push(`${from} -> ${to}: imports outside the layered folders`);
      continue;
    }
    if (a === b) continue;
    if (a === 'kernels' && KERNEL_EXCEPTIONS.includes(to)) continue;
    if (LAYERS[b] >= LAYERS[a]) bad.push(`${from} -> ${to}: ${a} may not import ${b} (kernels ← engine ← models ← analysis ← cli/bench)`);
    else if (a === 'analysis' && b === 'kernels')
      bad.push(`${from} -> ${to}: analysis reaches weight formats through models/, never kernels/`);
  }
  return bad;
}

/** Folder-level import cycles inside `prefix` (e.g. 'analysis'): each as 'a -> b -> a'. */
export function folderCycles(edges: ImportEdge[], prefix: string): string[] {
  const graph = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    if (top(from) !== prefix || top(to) !== prefix) continue;
    const a = path.posix.dirname(from);
    const b = path.posix.dirname(to);
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Set());
    graph.get(a)!.add(b);
  }
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m].join(' -> '));
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of [...graph.keys()].sort()) if (!state.has(n)) visit(n);
  return cycles;
}

// Analysis reports through the `Progress` interface and returns values; the terminal (printing, bars, signals,
// exit codes) belongs to cli/.
const TERMINAL_RE =
  /\bprocess\.(stdout|stderr|stdin|on|once|off|exit|exitCode)\b|from\s+['"]cli-progress['"]|require\(['"]cli-progress['"]\)/;

/** Lines of `source` that touch the terminal, as 'line N: text'. */
export function terminalUses(source: string): string[] {
  const out: string[] = [];
  source.split('\n').forEach((line, i) => {
    if (TERMINAL_RE.test(line)) out.push(`line ${i + 1}: ${line.trim()}`);
  });
  return out;
}

/** Every file under `folder` (recursive) with terminal code, each as 'file line N: text'. */
export function terminalUsesUnder(root: string, folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) for (const u of terminalUses(fs.readFileSync(p, 'utf8'))) out.push(`${path.relative(root, p)} ${u}`);
    }
  };
  walk(path.join(root, folder));
  return out;
}
