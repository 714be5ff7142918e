/** Headless Chromium for the report tests (Debian's `chromium`); tests skip with a message where it is absent. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function find(): string | null {
  for (const c of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

export const chromiumPath: string | null = find();
if (!chromiumPath) console.log('[tests] chromium not found: headless report checks are skipped (apt-get install -y chromium)');

/** Loads a local HTML file; returns the serialized DOM and the console lines Chromium logged (errors, uncaught exceptions). */
export function loadInChromium(file: string): { status: number | null; dom: string; consoleLines: string[]; stderr: string } {
  if (!chromiumPath) throw new Error('chromium not available');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-chromium-'));
  try {
    const r = spawnSync(
      chromiumPath,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        `--user-data-dir=${profile}`,
        '--enable-logging=stderr',
        '--v=0',
        '--dump-dom',
        `file://${path.resolve(file)}`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    // Page console messages are logged as `...:CONSOLE(line)] "message", source: ...`.
    const consoleLines = (r.stderr ?? '').split('\n').filter((l) => /CONSOLE|Uncaught|Failed to load resource|ERR_FILE_NOT_FOUND/.test(l));
    return { status: r.status, dom: r.stdout ?? '', consoleLines, stderr: r.stderr ?? '' };
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}
