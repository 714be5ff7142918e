/**
 * One write path (issue 10, high): every write goes through engine/atomic.ts, which refuses a destination inside
 * any model folder this process has opened (compared by realpath), so no command can replace a model's weights,
 * whatever the flag or symlink. Output folders given as symlinks, unwritable places (EPERM) and concurrent writers
 * end in one-line errors.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDirection } from '../analysis/direction/direction-io.ts';
import { writeFileAtomic, writeAll } from '../engine/atomic.ts';
import { UsageError } from '../engine/errors.ts';
import { openModelFolder } from '../engine/model-folder.ts';
import { writeSafetensors } from '../engine/safetensors-writer.ts';
import { glassbox, oneLineError, type Run } from './helpers/cli-process.ts';
import { projectRoot } from './helpers/shared.ts';
import { snapshot } from './helpers/safetensors-files.ts';

const TINY = path.join(projectRoot, 'models/tiny-chat');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-rel-writes-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A private copy of tiny-chat (weights and tokenizer only). */
function copyTiny(name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(TINY))
    if (fs.statSync(path.join(TINY, f)).isFile()) fs.copyFileSync(path.join(TINY, f), path.join(dir, f));
  return dir;
}

describe('writes never land inside a source model folder (by realpath)', () => {
  it('library: after a folder is opened, atomic writes into it (directly, via a subfolder or a symlink) are refused', () => {
    const tc = copyTiny('lib');
    const link = path.join(tmp, 'lib-link');
    fs.symlinkSync(tc, link);
    openModelFolder(tc).close();
    const before = snapshot(tc);
    const bytes = new Uint8Array(8);
    for (const target of [path.join(tc, 'model.safetensors'), path.join(link, 'config.json'), path.join(tc, 'golden', 'x.json')]) {
      expect(() => writeFileAtomic(target, (fd) => writeAll(fd, bytes)), target).toThrow(UsageError);
    }
    expect(() => writeSafetensors(path.join(link, 'model.safetensors'), [])).toThrow(/model folder/);
    expect(snapshot(tc)).toEqual(before);
  });

  it('trace --out <model>/model.safetensors (and through a symlinked path) is refused before any work', async () => {
    const tc = copyTiny('trace');
    const link = path.join(tmp, 'trace-link');
    fs.symlinkSync(tc, link);
    const before = snapshot(tc);
    const [direct, viaLink] = await Promise.all([
      glassbox('trace', tc, '--ids', '1,2,3', '--out', path.join(tc, 'model.safetensors')),
      glassbox('trace', tc, '--ids', '1,2,3', '--out', path.join(link, 'other.safetensors')),
    ]);
    for (const r of [direct, viaLink]) expect(oneLineError(r)).toMatch(/--out: .*inside the model folder/);
    expect(snapshot(tc)).toEqual(before);
  });

  it('--out in a place that cannot be written (EPERM under /sys) is one line, before any work', async () => {
    const [trace, ortho] = await Promise.all([
      glassbox('trace', TINY, '--ids', '1,2', '--out', '/sys/glassbox-x.safetensors'),
      glassbox('orthogonalize', TINY, '--direction', path.join(tmp, 'nodir'), '--out', '/sys/glassbox-x'),
    ]);
    expect(oneLineError(trace)).toMatch(/--out: .*\/sys/);
    expect(oneLineError(ortho)).toMatch(/glassbox: /);
  });
});

describe('orthogonalize output folders', () => {
  const dir = path.join(tmp, 'dir');
  const r = Float32Array.from({ length: 192 }, (_, i) => Math.sin(i + 1));
  writeDirection(dir, { r, pos: -1, layer: 3, model: 'tiny-chat' });

  it('--out a symlink to an empty folder writes into the folder it points to', async () => {
    const target = path.join(tmp, 'real-out');
    fs.mkdirSync(target);
    const link = path.join(tmp, 'out-link');
    fs.symlinkSync(target, link);
    const run = await glassbox('orthogonalize', TINY, '--direction', dir, '--out', link, '--json');
    expect(run.stderr.split('\n').filter((l) => l.startsWith('glassbox:'))).toEqual([]);
    expect(run.code).toBe(0);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.existsSync(path.join(target, 'model.safetensors'))).toBe(true);
  });

  it('two concurrent exports to one folder: each exits 0 or with one line, one wins, no temp folder is left', async () => {
    const out = path.join(tmp, 'race', 'out');
    fs.mkdirSync(path.dirname(out));
    const run = (): Promise<Run> =>
      new Promise((resolve) => {
        const p = spawn(
          process.execPath,
          ['--import', 'tsx', path.join(projectRoot, 'cli/main.ts'), 'orthogonalize', TINY, '--direction', dir, '--out', out],
          { cwd: projectRoot },
        );
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d) => (stdout += d));
        p.stderr.on('data', (d) => (stderr += d));
        p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      });
    const runs = await Promise.all([run(), run(), run()]);
    expect(runs.filter((x) => x.code === 0).length).toBeGreaterThanOrEqual(1);
    for (const x of runs.filter((y) => y.code !== 0)) {
      expect(x.code).toBe(1);
      const lines = x.stderr
        .trimEnd()
        .split('\n')
        .filter((l) => l.startsWith('glassbox:'));
      expect(lines, x.stderr).toHaveLength(1);
      expect(x.stderr).not.toMatch(/\n\s+at /);
    }
    expect(fs.readdirSync(path.dirname(out))).toEqual(['out']);
    openModelFolder(out).close();
  }, 60_000);
});
