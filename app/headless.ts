/**
 * Headless Chromium driving the web app, for the browser tests and `npm run bench:browser`: Debian's chromium
 * (never a downloaded browser) through playwright-core, with the flags this closed network needs (no background
 * networking, no component updates) and a fresh profile.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';

export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function chromiumExecutable(): string | null {
  const fromEnv = process.env.GLASSBOX_CHROMIUM;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : null;
  return CHROMIUM_CANDIDATES.find((c) => existsSync(c)) ?? null;
}

export interface HeadlessBrowser {
  /** Opens `url` and returns the page; page errors and console errors are collected in `errors`. */
  open(url: string): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

export async function launchHeadless(opts: { webgpu?: boolean } = {}): Promise<HeadlessBrowser> {
  const executablePath = chromiumExecutable();
  if (!executablePath) throw new Error(`no Chromium at ${CHROMIUM_CANDIDATES.join(', ')} (apt-get install -y chromium)`);
  const profile = mkdtempSync(path.join(os.tmpdir(), 'glassbox-chromium-'));
  const args = [
    '--no-sandbox',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    ...(opts.webgpu
      ? ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--use-webgpu-adapter=swiftshader']
      : ['--disable-gpu']),
  ];
  const context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args });
  return {
    async open(url) {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
      });
      page.on('response', (r) => {
        if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
      });
      await page.goto(url);
      return { page, errors };
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
