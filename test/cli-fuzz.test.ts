/**
 * Property test of the CLI surface (issue 10): random flag values and random prompt files through the real entry
 * point. Every run must end with exit 0, or exit 1 with exactly one `glassbox: ` error line and no stack trace;
 * nothing may be written outside the run's own --out path, and the model folder never changes.
 *
 * Budget: each case is one process (~1-3 s on 2 quiet cores), so numRuns is small and fixed (FUZZ_RUNS, default
 * 12) and the seed is printed by fast-check on failure for replay. Values mix arbitrary strings with the
 * classic lenient-number traps ('', '0x10', '1e3', ' 5 ', 'Infinity', huge ids) and raw bytes for prompt files.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import { projectRoot } from './helpers/shared.ts';
import { snapshot } from './helpers/safetensors-files.ts';

const TINY = path.join(projectRoot, 'models/tiny-chat');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-fuzz-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const RUNS = Number.parseInt(process.env.FUZZ_RUNS ?? '12', 10);

const traps = ['', '0', '1', '3', '-1', '0x10', '1e3', ' 5 ', 'NaN', 'Infinity', '99999999999', '1,2,3', '1,,2', '2.5', '\u001b[31m'];
const value = fc.oneof(fc.constantFrom(...traps), fc.string({ maxLength: 12 }), fc.integer({ min: -5, max: 5000 }).map(String));
const promptFile = fc.record({
  ext: fc.constantFrom('json', 'jsonl', 'csv', 'txt'),
  body: fc.oneof(
    fc.array(fc.string({ maxLength: 20 }), { maxLength: 4 }).map((a) => Buffer.from(JSON.stringify(a))),
    fc.string({ maxLength: 40 }).map((s) => Buffer.from(s)),
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
  ),
});

type Case = { args: (dir: string) => string[]; out: string };
const cases = fc.oneof(
  fc.record({ ids: value, max: value, temp: value }).map(({ ids, max, temp }): Case => ({
    args: () => ['generate', TINY, '--ids', ids, '--max-tokens', max, '--temperature', temp],
    out: '',
  })),
  fc.record({ ids: value, hooks: value, quant: fc.constantFrom('int8', 'int4', 'x', '') }).map(({ ids, hooks, quant }): Case => ({
    args: (dir) => ['trace', TINY, '--ids', ids, '--hooks', hooks, '--quant', quant, '--out', path.join(dir, 'out', 't.safetensors')],
    out: 'out',
  })),
  fc.record({ harmful: promptFile, harmless: promptFile, seed: value, tokens: value }).map(({ harmful, harmless, seed, tokens }): Case => ({
    args: (dir) => {
      const h = path.join(dir, `harmful.${harmful.ext}`);
      const s = path.join(dir, `harmless.${harmless.ext}`);
      fs.writeFileSync(h, harmful.body);
      fs.writeFileSync(s, harmless.body);
      return [
        'direction',
        TINY,
        '--harmful',
        h,
        '--harmless',
        s,
        '--out',
        path.join(dir, 'out'),
        '--seed',
        seed,
        '--refusal-tokens',
        tokens,
        '--n-train',
        '1',
        '--n-val',
        '1',
        '--layers',
        '5',
        '--max-layer-fraction',
        '1.0',
        '--no-filter',
      ];
    },
    out: 'out',
  })),
  fc.record({ methods: value, nTrain: value }).map(({ methods, nTrain }): Case => ({
    // Only the argument checks run: --n-val 0 is always refused, so a valid method list never starts a study.
    args: (dir) => ['study', TINY, '--out', path.join(dir, 'out'), '--methods', methods, '--n-train', nTrain, '--n-val', '0'],
    out: 'out',
  })),
);

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(projectRoot, 'cli/main.ts'), ...args],
      { cwd: projectRoot, env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    ),
  );
}

/** Every path under `dir`, relative. */
function tree(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true }).map(String).sort();
}

let n = 0;
it(`random flags and prompt files: exit 0, or exit 1 with one line and no stack; no write outside --out (${RUNS} runs)`, async () => {
  const modelBefore = snapshot(TINY);
  await fc.assert(
    fc.asyncProperty(cases, async (c) => {
      const dir = path.join(root, `case${n++}`);
      fs.mkdirSync(dir);
      const args = c.args(dir);
      const before = tree(dir);
      const r = await run(args);
      const ctx = `glassbox ${JSON.stringify(args)}\n${r.stderr}`;
      expect([0, 1], ctx).toContain(r.code);
      expect(r.stderr, ctx).not.toMatch(/\n\s+at .+:\d+:\d+/);
      if (r.code === 1) {
        const errors = r.stderr
          .trimEnd()
          .split('\n')
          .filter((l) => l.startsWith('glassbox: '));
        expect(errors, ctx).toHaveLength(1);
        expect(r.stderr.trimEnd().split('\n').pop(), ctx).toMatch(/^glassbox: /);
      }
      const added = tree(dir).filter((p) => !before.includes(p));
      for (const p of added) expect(c.out !== '' && (p === c.out || p.startsWith(c.out + path.sep)), `${ctx}\nwrote ${p}`).toBe(true);
    }),
    { numRuns: RUNS },
  );
  expect(snapshot(TINY)).toEqual(modelBefore);
  expect(fs.readdirSync(path.dirname(root)).filter((f) => f.startsWith('.glassbox') || /\.tmp$/.test(f))).toEqual([]);
}, 900_000);
