/**
 * Ctrl-C (issue 10, low): an interrupted `study --save-models` removes the models it saved, writes no report and
 * exits 130 (128 + SIGINT) with one line; nothing hidden is left beside the output.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { projectRoot } from './helpers/shared.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-rel-sigint-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('SIGINT during study --save-models: exit 130, one line, saved models removed, no report', async () => {
  const out = path.join(tmp, 'study');
  const args = [
    '--import',
    'tsx',
    path.join(projectRoot, 'cli/main.ts'),
    'study',
    'models/tiny-chat',
    '--out',
    out,
    '--save-models',
    '--methods',
    'int8,int4-g128',
    '--n-train',
    '4',
    '--n-val',
    '2',
    '--max-tokens',
    '2',
    '--n-calibration',
    '2',
    '--max-layer-fraction',
    '1.0',
  ];
  const p = spawn(process.execPath, args, { cwd: projectRoot });
  let stderr = '';
  let sent = false;
  p.stderr.on('data', (d) => {
    stderr += d;
    // As soon as the first compressed model is on disk, interrupt.
    if (!sent && /saved to/.test(stderr)) {
      sent = true;
      p.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((resolve) => p.on('close', resolve));
  expect(sent, stderr).toBe(true);
  expect(code, stderr).toBe(130);
  // The first Ctrl-C prints a notice ("interrupt received ..."); the error itself is one more line.
  const errors = stderr.split('\n').filter((l) => l.startsWith('glassbox: ') && !l.includes('interrupt received'));
  expect(errors, stderr).toHaveLength(1);
  expect(errors[0]).toMatch(/interrupted.*removed the 1 model folder/);
  expect(fs.existsSync(path.join(out, 'models'))).toBe(false);
  expect(fs.existsSync(path.join(out, 'report.html'))).toBe(false);
  if (fs.existsSync(out)) expect(fs.readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);
}, 300_000);
