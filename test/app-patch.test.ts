/**
 * Activation patching in the web app, in headless Chromium (skipped with a message where Debian's chromium is
 * absent): window.glassbox.patch gives the numbers of the same analysis/patch call in Node, patchGenerate the same
 * ids as patchedGeneration in Node, and the Interventions tab's patching controls draw the heatmap and show the
 * corrupted prompt's continuation without and with the patch.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { chromiumExecutable, launchHeadless, type HeadlessBrowser } from '../app/headless.ts';
import { startAppServer, type AppServer } from '../cli/app-server.ts';
import { defaultRefusalTokens } from '../analysis/model-runs.ts';
import { activationPatching } from '../analysis/patch/patching.ts';
import { patchedGeneration } from '../analysis/patch/patched-generate.ts';
import { loadModel } from '../models/load.ts';
import type { Model } from '../models/types.ts';
import { createWasmSimdBackend } from '../kernels/wasm/backend.ts';
import type { GlassboxApi } from '../app/protocol.ts';

declare const window: { glassbox: GlassboxApi };

const chromium = chromiumExecutable();
if (!chromium) console.log('[tests] /usr/bin/chromium not found: the web app patching tests are skipped (apt-get install -y chromium)');

const MODEL = 'models/tiny-chat';
// Same token count under tiny-chat's chat template (14): patches are aligned by position.
const CLEAN = 'Explain how to steal a car';
const CORRUPT = 'Explain how to wash a car';
const MAX = 12;
/** Both sides run the same wasm-simd kernels on the same batches; f32 logits up to ~26 (clarifications: 1e-3). */
const TOL = 1e-3;

let tmp: string;
let server: AppServer;
let browser: HeadlessBrowser;
let page: Page;
let errors: string[];
let node: Model;

const close = (a: number[], b: number[]) => {
  expect(a).toHaveLength(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i]), `index ${i}: ${v} vs ${b[i]}`).toBeLessThan(TOL));
};

describe.skipIf(!chromium)('activation patching in the web app (headless Chromium)', () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-app-patch-'));
    execFileSync(process.execPath, ['scripts/build-app.mjs'], { env: { ...process.env, GLASSBOX_APP_OUT: tmp }, stdio: 'pipe' });
    server = await startAppServer({ appDir: tmp, modelDir: MODEL, port: 0 });
    browser = await launchHeadless();
    ({ page, errors } = await browser.open(`${server.url}?threads=1#interventions`));
    node = await loadModel(MODEL, { backend: createWasmSimdBackend({ threads: 1 }) });
    await page.evaluate(() => window.glassbox.ready);
  });

  afterAll(async () => {
    node?.dispose();
    await browser?.close();
    await server?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('patch(): every site, the numbers of analysis/patch in Node (refusal score and logit difference)', async () => {
    const tok = node.tokenizer!;
    const clean = tok.encodeChat(CLEAN);
    const corrupt = tok.encodeChat(CORRUPT);
    const want = await activationPatching(node, clean, corrupt, { kind: 'refusal-score', refusalTokens: defaultRefusalTokens(tok) });
    const got = await page.evaluate(([c, k]) => window.glassbox.patch({ clean: c, corrupted: k, metric: { kind: 'refusal-score' } }), [
      CLEAN,
      CORRUPT,
    ] as const);
    expect(got.cleanIds).toEqual(clean);
    expect(got.corruptedIds).toEqual(corrupt);
    expect(got.tokens).toEqual(want.tokens);
    expect(got.forwards).toBe(want.forwards);
    close([got.clean, got.corrupted], [want.clean, want.corrupted]);
    expect(want.clean - want.corrupted).toBeGreaterThan(5); // a real gap: the test could not pass on two equal runs
    close(got.resid_pre.flat(), want.resid_pre.flat());
    close(got.attn_out, want.attn_out);
    close(got.mlp_out, want.mlp_out);
    close(got.heads.flat(), want.heads.flat());
    // logit-diff with tokens as text and as #id, on ids given directly, one site.
    const [answer, wrong] = ['I', 'Sure'].map((w) => tok.encode(w, { addSpecialTokens: false })[0]);
    const ld = await activationPatching(node, clean, corrupt, { kind: 'logit-diff', answer, wrong }, { sites: ['mlp_out'] });
    const web = await page.evaluate(
      ([c, k, w]) =>
        window.glassbox.patch({ cleanIds: c, corruptedIds: k, metric: { kind: 'logit-diff', answer: 'I', wrong: w }, sites: ['mlp_out'] }),
      [clean, corrupt, `#${wrong}`] as const,
    );
    close([web.clean, web.corrupted, ...web.mlp_out], [ld.clean, ld.corrupted, ...ld.mlp_out]);
    expect(web.resid_pre).toEqual([]);
  });

  it('patchGenerate(): the same before/after ids and metrics as patchedGeneration in Node; the patch flips the answer', async () => {
    const tok = node.tokenizer!;
    const clean = tok.encodeChat(CLEAN);
    const corrupt = tok.encodeChat(CORRUPT);
    const metric = { kind: 'refusal-score' as const, refusalTokens: defaultRefusalTokens(tok) };
    const want = await patchedGeneration(node, clean, corrupt, { site: 'resid_pre', layer: 3, pos: -1 }, metric, { maxNewTokens: MAX });
    const got = await page.evaluate(
      ([c, k, max]) =>
        window.glassbox.patchGenerate({
          clean: c,
          corrupted: k,
          metric: { kind: 'refusal-score' },
          site: 'resid_pre',
          layer: 3,
          pos: -1,
          maxTokens: max,
        }),
      [CLEAN, CORRUPT, MAX] as const,
    );
    expect(got.hook).toBe('blocks.3.hook_resid_pre');
    expect(got.patch).toEqual({ site: 'resid_pre', layer: 3, pos: clean.length - 1 });
    expect(got.before.ids).toEqual(want.before);
    expect(got.after.ids).toEqual(want.after);
    expect(got.after.ids).not.toEqual(got.before.ids);
    close([got.corruptedMetric, got.cleanMetric, got.patchedMetric], [want.target, want.source, want.patched]);
    expect(got.patchedMetric).toBeGreaterThan(0); // the harmful prompt's last position makes the harmless one refuse
    expect(got.after.text).toMatch(/^(I|As)\b/);
    // Bad input reaches the page as one clear message.
    const bad = await page.evaluate(() =>
      window.glassbox
        .patchGenerate({
          clean: 'Hi',
          corrupted: 'Explain how to wash a car',
          metric: { kind: 'refusal-score' },
          site: 'resid_pre',
          layer: 0,
        })
        .then(
          () => 'ran',
          (e: Error) => e.message,
        ),
    );
    expect(bad).toMatch(/^patch: the source prompt has \d+ tokens and the target 14; .*same length/);
    const metricError = (metric: unknown) =>
      page.evaluate(
        ([c, k, m]) =>
          window.glassbox.patch({ clean: c, corrupted: k, metric: m as never, sites: ['mlp_out'] }).then(
            () => 'ran',
            (e: Error) => e.message,
          ),
        [CLEAN, CORRUPT, metric] as const,
      );
    expect(await metricError({ kind: 'bogus' })).toBe("metric: expected logit-diff or refusal-score, got 'bogus'");
    expect(await metricError({ kind: 'logit-diff', answer: '', wrong: 'Sure' })).toBe("answer: '' encodes to no token");
    expect(await metricError({ kind: 'logit-diff', answer: '#99999', wrong: 'Sure' })).toBe(
      'patch metric logit-diff: token id 99999 is outside 0..2047',
    );
  });

  it('the Interventions tab: the heatmap draws, and patch & regenerate shows before and after side by side', async () => {
    await page.click('#patch-sweep');
    await page.waitForFunction(`!document.querySelector('#patch-sweep').disabled`, undefined, { timeout: 60_000 });
    expect(await page.$$('#patch-heatmap svg')).toHaveLength(1);
    expect(await page.textContent('#patch-note')).toMatch(/refusal-score: clean 5\.\d\d, corrupted -3\.\d\d/);
    expect(await page.$$eval('#patch-pos option', (o) => o.length)).toBe(15); // every position, then the 14 tokens
    await page.fill('#patch-layer', '3');
    await page.click('#patch-go');
    await page.waitForFunction(`!document.querySelector('#patch-go').disabled`, undefined, { timeout: 60_000 });
    expect(await page.$$eval('main .error', (els) => els.map((e) => e.textContent))).toEqual([]);
    const before = await page.textContent('#patch-before');
    expect(before!.length).toBeGreaterThan(0);
    expect(await page.textContent('#patch-after')).not.toBe(before);
    expect(await page.textContent('#patch-note')).toMatch(/blocks\.3\.hook_resid_pre at position 13/);
    expect(errors).toEqual([]);
  });
});
