/**
 * Drives every view of the built web app in headless Chromium and saves a screenshot of each into docs/
 * (`node --import tsx scripts/app-screenshots.ts [study-folder] [--only name,name]`, after `npm run build:app`). A view
 * that fails (an error shown, a page error, no plot) stops the script with a message. --only retakes just the named
 * screenshots (the views they need still run).
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launchHeadless } from '../app/headless.ts';
import { startAppServer } from '../cli/app-server.ts';

const argv = process.argv.slice(2);
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? new Set(argv.splice(onlyAt, 2)[1]?.split(',')) : null;
const studyDir = argv[0];
const server = await startAppServer({ appDir: 'dist/app', modelDir: 'models/tiny-chat', port: 0 });
const browser = await launchHeadless();
try {
  const { page, errors } = await browser.open(server.url);
  await page.setViewportSize({ width: 1150, height: 760 });
  await page.evaluate('window.glassbox.ready'); // (string page functions: this file is type-checked without the DOM)
  const shot = async (name: string, selector?: string) => {
    if (errors.length) throw new Error(`${name}: ${errors.join('; ')}`);
    const err = await page.$('main .error');
    if (err) throw new Error(`${name}: ${await err.textContent()}`);
    if (only && !only.has(name)) return;
    const file = path.join('docs', `app-${name}.png`);
    if (selector) await page.locator(selector).screenshot({ path: file });
    else await page.screenshot({ path: file });
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

  // Activation patching (the lower half of the Interventions tab): the heatmap, then one patch and regenerate.
  await run(page, '#patch-sweep');
  await page.waitForSelector('#patch-heatmap svg');
  await page.fill('#patch-layer', '3');
  await run(page, '#patch-go');
  await shot('patch', 'section.patch');

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
