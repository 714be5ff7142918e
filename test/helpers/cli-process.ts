/** Runs the real CLI entry in a child process and checks the output contract (one JSON object / one error line). */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { expect } from 'vitest';
import { projectRoot } from './shared.ts';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from source, as `npx glassbox` would after a build. */
export function glassbox(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(projectRoot, 'cli/main.ts'), ...args],
      { cwd: projectRoot, env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** One JSON object and nothing else on stdout. */
export function onlyJson(stdout: string): Record<string, unknown> {
  expect(stdout.endsWith('\n')).toBe(true);
  expect(stdout.trimEnd().split('\n')).toHaveLength(1);
  const v = JSON.parse(stdout);
  expect(typeof v === 'object' && v !== null && !Array.isArray(v)).toBe(true);
  return v;
}

/** Exit 1 with exactly one `glassbox: <message>` line on stderr and nothing on stdout. */
export function oneLineError(r: Run): string {
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0].startsWith('glassbox: ')).toBe(true);
  return lines[0];
}
