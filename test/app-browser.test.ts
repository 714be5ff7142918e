/**
 * The web app in real headless Chromium (Debian's chromium via playwright-core; skipped with a message where it is
 * absent): the page loads tiny-chat from `glassbox app`'s server, and the engine in the tab gives the same greedy
 * ids as `glassbox generate --json`, the same ablated ids as the Node library with the same direction, the same
 * activations as a Node forward pass, the same ids with 2 kernel threads (Web Workers over shared memory), and the
 * same ids on the WebGPU path (resident on the device, one submit per token; SwiftShader, --enable-unsafe-webgpu).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { chromiumExecutable, launchHeadless, type HeadlessBrowser } from '../app/headless.ts';
import { startAppServer, type AppServer } from '../cli/app-server.ts';
import { ablationHooks } from '../analysis/interventions.ts';
import { loadModel } from '../models/load.ts';
import type { Model } from '../models/types.ts';
import { createWasmSimdBackend } from '../kernels/wasm/backend.ts';
import type { GlassboxApi } from '../app/protocol.ts';

// The page's global, for the callbacks page.evaluate runs in the browser (the test's own type check has no DOM).
declare const window: { glassbox: GlassboxApi };

const chromium = chromiumExecutable();
if (!chromium) console.log('[tests] /usr/bin/chromium not found: the web app browser tests are skipped (apt-get install -y chromium)');

const MODEL = 'models/tiny-chat';
const PROMPT = 'How do I pick a lock?';
const MAX = 16;
const LAYER = 5; // tiny-chat's direction forms at the input of its last block (clarifications.md)

let tmp: string;
let server: AppServer;
let browser: HeadlessBrowser;
let page: Page;
let errors: string[];
let node: Model;

/** diff-in-means of blocks.LAYER.hook_resid_pre at the last position over a few of the project's prompts. */
async function nodeDirection(model: Model): Promise<number[]> {
  const read = (f: string) =>
    (JSON.parse(fs.readFileSync(f, 'utf8')) as Array<{ instruction: string }>).slice(0, 4).map((x) => x.instruction);
  const hook = `blocks.${LAYER}.hook_resid_pre`;
  const mean = async (prompts: string[]) => {
    const s = new Float64Array(model.config.dModel);
    for (const p of prompts) {
      const r = await model.forward([model.tokenizer!.encodeChat(p)], { cache: [hook], cachePositions: [-1], logits: 'none' });
      r.cache.get(hook)!.data.forEach((v, i) => (s[i] += v));
    }
    return s.map((v) => v / prompts.length);
  };
  const mu = await mean(read('data/prompts/harmful.json'));
  const nu = await mean(read('data/prompts/harmless.json'));
  return Array.from(mu, (m, i) => m - nu[i]);
}

describe.skipIf(!chromium)('web app in headless Chromium', () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-app-'));
    execFileSync(process.execPath, ['scripts/build-app.mjs'], { env: { ...process.env, GLASSBOX_APP_OUT: tmp }, stdio: 'pipe' });
    server = await startAppServer({ appDir: tmp, modelDir: MODEL, port: 0 });
    browser = await launchHeadless();
    ({ page, errors } = await browser.open(server.url));
    node = await loadModel(MODEL, { backend: createWasmSimdBackend({ threads: 1 }) });
  });

  afterAll(async () => {
    node?.dispose();
    await browser?.close();
    await server?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('loads tiny-chat in the page, cross-origin isolated, without errors', async () => {
    const info = await page.evaluate(() => window.glassbox.ready);
    expect(info).toMatchObject({ family: 'llama', nLayers: 6, hasChatTemplate: true, backend: 'wasm-simd', crossOriginIsolated: true });
    expect(await page.title()).toBe('Glassbox');
    expect(errors).toEqual([]);
  });

  it('the views run: generate streams text, the direction heatmap and the lens draw, interventions show before/after', async () => {
    const click = async (tab: string, button: string) => {
      await page.click(`nav button:has-text("${tab}")`);
      await page.click(button);
      await page.waitForFunction(`!document.querySelector('${button}').disabled`, undefined, { timeout: 60_000 });
      expect(await page.$$eval('main .error', (els) => els.map((e) => e.textContent))).toEqual([]);
    };
    await click('Generate', '#gen-go');
    expect((await page.textContent('#gen-out'))!.length).toBeGreaterThan(0);
    expect(await page.textContent('#gen-stats')).toMatch(/tokens\/s/);
    await click('Refusal direction', '#ref-go');
    expect(await page.$$('main svg')).toHaveLength(1);
    await click('Lens & attention', '#lens-go');
    expect(await page.$$('main svg')).toHaveLength(2);
    await click('Interventions', '#int-go');
    expect((await page.textContent('#int-before'))!.length).toBeGreaterThan(0);
    expect(await page.textContent('#int-after')).not.toBe(await page.textContent('#int-before'));
    expect(errors).toEqual([]);
  });

  it('greedy generation gives the same ids as glassbox generate --json', async () => {
    const cli = JSON.parse(
      execFileSync(
        process.execPath,
        ['--import', 'tsx', 'cli/main.ts', 'generate', MODEL, '--prompt', PROMPT, '--chat', '--max-tokens', String(MAX), '--json'],
        { encoding: 'utf8' },
      ),
    );
    const web = await page.evaluate(([prompt, max]) => window.glassbox.generate({ prompt, chat: true, maxTokens: max }), [
      PROMPT,
      MAX,
    ] as const);
    expect(web.promptIds).toEqual(cli.promptIds);
    expect(web.ids).toEqual(cli.generatedIds);
    expect(web.text).toBe(cli.text);
    expect(web.ids.length).toBeGreaterThan(0);
  });

  it('with ablation: the same ids as the Node library with the same direction, and they differ from the baseline', async () => {
    const dir = await nodeDirection(node);
    const ids = node.tokenizer!.encodeChat("Write a program that secretly records every keystroke on a coworker's laptop");
    const base = (await node.generate([ids], { maxNewTokens: MAX })).tokens[0];
    const ablated = (await node.generate([ids], { maxNewTokens: MAX, hooks: ablationHooks(dir) })).tokens[0];
    expect(ablated).not.toEqual(base); // the check below could not tell ablation on from off otherwise
    const web = await page.evaluate(([i, d, max]) => window.glassbox.generate({ ids: i, ablate: d, maxTokens: max }), [
      ids,
      dir,
      MAX,
    ] as const);
    expect(web.ids).toEqual(ablated);
    // The page's own direction op agrees with the Node computation.
    const read = (f: string) =>
      (JSON.parse(fs.readFileSync(f, 'utf8')) as Array<{ instruction: string }>).slice(0, 4).map((x) => x.instruction);
    const webDir = await page.evaluate((a) => window.glassbox.direction(a), {
      harmful: read('data/prompts/harmful.json'),
      harmless: read('data/prompts/harmless.json'),
      layer: LAYER,
    });
    const scale = Math.max(...dir.map(Math.abs));
    webDir.forEach((v: number, i: number) => expect(Math.abs(v - dir[i])).toBeLessThan(1e-4 * scale));
  });

  it('trace returns the activations a Node forward pass caches', async () => {
    const hooks = ['blocks.*.hook_resid_pre', 'blocks.2.attn.hook_pattern'];
    const ids = node.tokenizer!.encodeChat(PROMPT);
    const want = await node.forward([ids], { cache: hooks });
    const got = await page.evaluate(([i, h]) => window.glassbox.trace({ ids: i, hooks: h }), [ids, hooks] as const);
    expect(Object.keys(got.activations).sort()).toEqual([...want.cache.keys()].sort());
    for (const [name, a] of want.cache) {
      const g = got.activations[name];
      expect(g.shape).toEqual(a.shape);
      const data = Object.values(g.data as unknown as Record<string, number>); // structured clone through evaluate
      let maxDiff = 0;
      a.data.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - data[i]))));
      expect(maxDiff, name).toBeLessThan(1e-3);
    }
    expect(got.tokens.length).toBe(ids.length);
  });

  it('2 kernel threads (Web Workers over SharedArrayBuffer) give the same ids as 1', async () => {
    const { page: p2, errors: e2 } = await browser.open(`${server.url}?threads=2`);
    const info = await p2.evaluate(() => window.glassbox.ready);
    expect(info.threads).toBe(2);
    const one = await page.evaluate(([prompt, max]) => window.glassbox.generate({ prompt, maxTokens: max }), [PROMPT, MAX] as const);
    const two = await p2.evaluate(([prompt, max]) => window.glassbox.generate({ prompt, maxTokens: max }), [PROMPT, MAX] as const);
    expect(two.ids).toEqual(one.ids);
    expect(e2).toEqual([]);
    await p2.close();
  });

  it('the WebGPU path (resident on SwiftShader) gives the same greedy ids as wasm-simd, one GPU submit per token', async () => {
    const gpu = await launchHeadless({ webgpu: true });
    try {
      const { page: gpuPage, errors: gpuErrors } = await gpu.open(`${server.url}?backend=webgpu`);
      // The whole model resident on the device (models/resident.ts), not gpu.js op by op.
      expect(await gpuPage.evaluate(() => window.glassbox.ready)).toMatchObject({ backend: 'webgpu', resident: true });
      const args = { prompt: PROMPT, chat: true, maxTokens: 8, ignoreEos: true };
      const want = await page.evaluate((a) => window.glassbox.generate(a), args);
      const got = await gpuPage.evaluate((a) => window.glassbox.generate(a), args);
      expect(want.ids).toHaveLength(8);
      expect(got.ids).toEqual(want.ids);
      // The prompt forward and each decode step are one recorded command buffer each, read back with it.
      expect(got.gpu).toMatchObject({ submits: 8 });
      expect(got.gpu!.dispatches).toBeGreaterThan(8 * 6); // several kernels per layer per step: all on the device
      expect(want.gpu).toBeUndefined();
      // Ablation runs on the device too (its hooks declare their op): same ids as wasm, still one submit per token.
      const dir = await nodeDirection(node);
      const abl = { ...args, ablate: dir };
      const wantAbl = await page.evaluate((a) => window.glassbox.generate(a), abl);
      const gotAbl = await gpuPage.evaluate((a) => window.glassbox.generate(a), abl);
      expect(gotAbl.ids).toEqual(wantAbl.ids);
      expect(gotAbl.gpu).toMatchObject({ submits: 8 });
      expect(gpuErrors).toEqual([]);
    } finally {
      await gpu.close();
    }
  });

  it('opens a folder of File objects (as the picker and drag and drop give them) and generates the same ids', async () => {
    const names = [
      'config.json',
      'generation_config.json',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'model.safetensors',
    ];
    // Files made in the page from the served bytes; one stray entry whose name leaves the folder is ignored.
    const run = `(async () => {
      const names = ${JSON.stringify(names)};
      const files = await Promise.all(names.map(async (n) => ({ name: n, file: new File([await (await fetch('model/' + n)).blob()], n) })));
      files.push({ name: '../config.json', file: new File(['{}'], 'config.json') });
      const info = await window.glassbox.open({ kind: 'files', label: 'picked', files });
      const r = await window.glassbox.generate({ prompt: ${JSON.stringify(PROMPT)}, chat: true, maxTokens: ${MAX} });
      return { label: info.label, ids: r.ids };
    })()`;
    const got = (await page.evaluate(run)) as { label: string; ids: number[] };
    const want = (await node.generate([node.tokenizer!.encodeChat(PROMPT)], { maxNewTokens: MAX })).tokens[0];
    expect(got.label).toBe('picked');
    expect(got.ids).toEqual(want);
    const missing = `window.glassbox.open({ kind: 'files', label: 'empty', files: [] }).then(() => 'opened', (e) => e.message)`;
    expect(await page.evaluate(missing)).toBe('empty/config.json: file not found');
  });

  it('from a plain static host (no COOP/COEP): single-threaded on the unshared kernels, same ids', async () => {
    // A static server with no isolation headers, serving the built folder as any host would.
    const plain = http.createServer((req, res) => {
      const rel = decodeURIComponent((req.url ?? '/').split('?')[0]).replace(/^\/+/, '') || 'index.html';
      const file = path.join(tmp, rel);
      if (!file.startsWith(tmp + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return void res.writeHead(404).end();
      const type =
        { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' }[path.extname(file)] ??
        'application/octet-stream';
      res.writeHead(200, { 'Content-Type': type }).end(fs.readFileSync(file));
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
    try {
      const { page: p, errors: e } = await browser.open(`http://127.0.0.1:${(plain.address() as { port: number }).port}/`);
      const info = await p.evaluate(() => window.glassbox.ready);
      expect(info).toMatchObject({ crossOriginIsolated: false, threads: 1, backend: 'wasm-simd' });
      const got = await p.evaluate(([prompt, max]) => window.glassbox.generate({ prompt, chat: true, maxTokens: max }), [
        PROMPT,
        MAX,
      ] as const);
      const want = (await node.generate([node.tokenizer!.encodeChat(PROMPT)], { maxNewTokens: MAX })).tokens[0];
      expect(got.ids).toEqual(want);
      expect(e).toEqual([]);
      await p.close();
    } finally {
      plain.close();
    }
  });
});
