/**
 * Drives every view of the built web app in headless Chromium and saves a screenshot of each into docs/
 * (`node --import tsx scripts/app-screenshots.ts [study-folder]`, after `npm run build:app`). A view that fails
 * (an error shown, a page error, no plot) stops the script with a message.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launchHeadless } from '../app/headless.ts';
import { startAppServer } from '../cli/app-server.ts';

const studyDir = process.argv[2];
const server = await startAppServer({ appDir: 'dist/app', modelDir: 'models/tiny-chat', port: 0 });
const browser = await launchHeadless();
try {
  const { page, errors } = await browser.open(server.url);
  await page.setViewportSize({ width: 1150, height: 760 });
  await page.evaluate('window.glassbox.ready'); // (string page functions: this file is type-checked without the DOM)
  const shot = async (name: string) => {
    if (errors.length) throw new Error(`${name}: ${errors.join('; ')}`);
    const err = await page.$('main .error');
    if (err) throw new Error(`${name}: ${await err.textContent()}`);
    await page.screenshot({ path: path.join('docs', `app-${name}.png`) });
    console.log(`docs/app-${name}.png`);
  };
  const tab = (label: string) => page.click(`nav button:has-text("${label}")`);
  const waitEnabled = (sel: string) =>
    page.waitForFunction(`!document.querySelector(${JSON.stringify(sel)}).disabled`, undefined, { timeout: 120_000 });
  const run = async (p: Page, button: string) => {
    await p.click(button);
    await waitEnabled(button);
  };

  await tab('Generate');
  await run(page, '#gen-go');
  await shot('generate');

  await tab('Refusal direction');
  await run(page, '#ref-go');
  await page.waitForSelector('main svg');
  await shot('refusal');

  await tab('Lens & attention');
  await run(page, '#lens-go');
  await page.waitForFunction("document.querySelectorAll('main svg').length >= 2");
  await shot('lens');

  await tab('Interventions');
  await run(page, '#int-go');
  await shot('interventions');

  await tab('Compression');
  await page.selectOption('#cmp-method', 'wanda-50');
  await run(page, '#cmp-go');
  await page.waitForSelector('main svg');
  await shot('compress');

  await tab('Refusal direction');
  await run(page, '#ref-go');
  await page.waitForFunction("document.querySelectorAll('main svg').length >= 2");
  await shot('refusal-compressed');

  if (studyDir) {
    await tab('Study folder');
    await page.setInputFiles('#study-pick', studyDir); // a webkitdirectory input takes the folder itself
    await page.waitForSelector('#study-out svg', { timeout: 60_000 });
    await shot('study');
  }
} finally {
  await browser.close();
  await server.close();
}
