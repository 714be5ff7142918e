/**
 * The interpretability commands end to end on tiny-chat: the JSON shapes of issue 14 (item 6), the HTML pages, and
 * one-line errors for bad input.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDirection } from '../analysis/direction/direction-io.ts';
import { PATCH_SITES } from '../analysis/patch/experiments.ts';
import { loadDirectionVector } from '../analysis/project/load-direction.ts';
import { choiceListArg, htmlArg, tokenArg, tokenListArg } from '../cli/commands/interp-flags.ts';
import { writeSafetensors } from '../engine/safetensors-writer.ts';
import { loadModel } from '../models/load.ts';
import { glassbox, oneLineError, onlyJson } from './helpers/cli-process.ts';
import { randomSaeTensors, writeSaeFixture } from './helpers/sae-fixture.ts';

const TINY = 'models/tiny-chat';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-interp-cli-'));
const r = Float32Array.from({ length: 192 }, (_, i) => Math.sin(i));
writeDirection(path.join(tmp, 'dir'), { r, pos: -1, layer: 5, model: 'tiny-chat' });
const vecFile = path.join(tmp, 'vec.safetensors');
writeSafetensors(vecFile, [{ name: 'refusal', dtype: 'F32', shape: [192], data: r }]);
const sae = writeSaeFixture(
  { d_in: 192, d_sae: 64, architecture: 'topk', k: 8, metadata: { hook_name: 'blocks.3.hook_resid_pre' } },
  randomSaeTensors(192, 64, 9),
);
afterAll(() => [tmp, sae].forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const PROMPT = ['--prompt', 'Explain how to steal a car', '--chat'];

describe('interpretability CLI on tiny-chat', () => {
  it('lens --json: one entry per layer plus the output, top-k with probabilities, target ranks', async () => {
    const html = path.join(tmp, 'lens.html');
    const res = await glassbox('lens', TINY, ...PROMPT, '--targets', 'I,As', '--top-k', '3', '--html', html, '--json');
    const j = onlyJson(res.stdout) as {
      tokens: string[];
      layers: { layer: number; positions: { top: { id: number; token: string; prob: number }[]; targets: { rank: number }[] }[] }[];
    };
    expect(j.layers).toHaveLength(7);
    expect(j.layers.map((l) => l.layer)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const last = j.layers[6].positions.at(-1)!;
    expect(last.top).toHaveLength(3);
    expect(last.top[0]).toMatchObject({ id: 78, token: 'I' });
    expect(last.targets[0].rank).toBe(1);
    expect(j.layers[0].positions).toHaveLength(j.tokens.length);
    expect(fs.readFileSync(html, 'utf8')).toContain('Logit lens');
  });

  it('project --json with a direction folder, and with any safetensors vector during generation', async () => {
    const a = onlyJson((await glassbox('project', TINY, '--direction', path.join(tmp, 'dir'), ...PROMPT, '--json')).stdout) as {
      tokens: string[];
      hooks: Record<string, number[][]>;
    };
    expect(Object.keys(a.hooks)).toContain('hook_resid_pre');
    expect(a.hooks.hook_resid_pre).toHaveLength(6);
    expect(a.hooks.hook_resid_pre[0]).toHaveLength(a.tokens.length);
    const b = onlyJson(
      (
        await glassbox(
          'project',
          TINY,
          '--direction',
          vecFile,
          ...PROMPT,
          '--hooks',
          'blocks.*.hook_resid_post',
          '--generate',
          '4',
          '--json',
        )
      ).stdout,
    ) as { tokens: string[]; promptLength: number; generatedIds: number[]; hooks: Record<string, number[][]> };
    expect(Object.keys(b.hooks)).toEqual(['hook_resid_post']);
    expect(b.generatedIds).toHaveLength(4);
    expect(b.tokens).toHaveLength(b.promptLength + 3);
    expect(b.hooks.hook_resid_post[5]).toHaveLength(b.tokens.length);
  });

  it('project --prompts FILE: one result per prompt', async () => {
    const file = path.join(tmp, 'two.json');
    fs.writeFileSync(file, JSON.stringify(['Explain how to steal a car', 'Write a poem about the sea']));
    const j = onlyJson(
      (await glassbox('project', TINY, '--direction', vecFile, '--prompts', file, '--chat', '--hooks', 'hook_resid_mid', '--json')).stdout,
    ) as { prompts: { instruction: string; tokens: string[]; hooks: Record<string, number[][]> }[] };
    expect(j.prompts.map((p) => p.instruction)).toEqual(['Explain how to steal a car', 'Write a poem about the sea']);
    for (const p of j.prompts) expect(p.hooks.hook_resid_mid[5]).toHaveLength(p.tokens.length);
  });

  it('patch --json: grids of metric values with both baselines', async () => {
    const res = await glassbox(
      'patch',
      TINY,
      '--clean',
      'Explain how to steal a car',
      '--corrupt',
      'Explain how to wash a car',
      '--chat',
      '--metric',
      'logit-diff',
      '--answer',
      'I',
      '--wrong',
      'Sure',
      '--json',
    );
    const j = onlyJson(res.stdout) as {
      clean: number;
      corrupted: number;
      resid_pre: number[][];
      attn_out: number[];
      mlp_out: number[];
      heads: number[][];
    };
    expect(j.clean).toBeGreaterThan(j.corrupted);
    expect(j.resid_pre).toHaveLength(6);
    expect(j.resid_pre[0]).toHaveLength(14);
    expect(j.attn_out).toHaveLength(6);
    expect(j.mlp_out).toHaveLength(6);
    expect(j.heads).toHaveLength(6);
    expect(j.heads[0]).toHaveLength(6);
  });

  it('attention --json / --html and sae --json', async () => {
    const html = path.join(tmp, 'attn.html');
    const a = onlyJson(
      (await glassbox('attention', TINY, ...PROMPT, '--layers', '5', '--heads', '0,1', '--html', html, '--json')).stdout,
    ) as { tokens: string[]; layers: { layer: number; heads: { head: number; pattern: number[][] }[] }[] };
    expect(a.layers[0].heads.map((h) => h.head)).toEqual([0, 1]);
    expect(a.layers[0].heads[0].pattern).toHaveLength(a.tokens.length);
    expect((fs.readFileSync(html, 'utf8').match(/class="heatmap"/g) ?? []).length).toBe(2);
    const s = onlyJson(
      (await glassbox('sae', TINY, '--sae', sae, ...PROMPT, '--all', '--direction', vecFile, '--top-k', '4', '--json')).stdout,
    ) as {
      hook: string;
      dSae: number;
      tokens: string[];
      top: { feature: number; value: number }[][];
      reconstructionError: number;
      activations: number[][];
      directionAlignment: unknown[];
    };
    expect(s.hook).toBe('blocks.3.hook_resid_pre');
    expect(s.dSae).toBe(64);
    expect(s.top).toHaveLength(s.tokens.length);
    expect(s.top[0]).toHaveLength(4);
    expect(s.activations[0]).toHaveLength(64);
    expect(s.reconstructionError).toBeGreaterThan(0);
    expect(s.directionAlignment).toHaveLength(4);
  });

  it('one-line errors: length mismatch, bad numbers, broken SAE', async () => {
    expect(oneLineError(await glassbox('patch', TINY, '--clean', 'a b', '--corrupt', 'a b c', '--answer', 'I', '--wrong', 'As'))).toMatch(
      /clean prompt has \d+ tokens and the corrupted one \d+/,
    );
    expect(oneLineError(await glassbox('lens', TINY, ...PROMPT, '--top-k', '0x5'))).toMatch(/--top-k: expected a decimal integer/);
    const broken = path.join(tmp, 'broken-sae');
    fs.mkdirSync(broken);
    fs.writeFileSync(path.join(broken, 'cfg.json'), JSON.stringify({ d_in: 192, d_sae: 0, hook_name: 'blocks.0.hook_resid_pre' }));
    expect(oneLineError(await glassbox('sae', TINY, '--sae', broken, ...PROMPT))).toMatch(
      /cfg.json: field d_sae must be a positive integer, got 0/,
    );
  });
});

describe('interpretability flag helpers (in process)', () => {
  it('token, list and file-name flags name the flag in their errors', async () => {
    const model = await loadModel(TINY, { retainWeights: false });
    try {
      const notes: string[] = [];
      const V = model.config.vocabSize;
      expect(tokenArg('I', '--answer', model.tokenizer, V, (n) => notes.push(n))).toBe(78);
      expect(tokenArg('#1568', '--answer', model.tokenizer, V, (n) => notes.push(n))).toBe(1568);
      expect(() => tokenArg('#4096', '--answer', model.tokenizer, V, () => {})).toThrow(/--answer: expected a decimal integer in 0..2047/);
      expect(tokenListArg('I,As', '--targets', model.tokenizer, V, () => {})).toEqual([78, 1568]);
      expect(() => tokenListArg('I,,As', '--targets', model.tokenizer, V, () => {})).toThrow(/--targets: empty item/);
      tokenArg('Sure thing', '--wrong', model.tokenizer, V, (n) => notes.push(n));
      expect(notes).toHaveLength(1);
      expect(notes[0]).toMatch(/--wrong: 'Sure thing' is \d+ tokens; using the first/);
      expect(() => choiceListArg('resid_pre,neurons', '--sites', PATCH_SITES)).toThrow(
        /--sites: 'neurons' is not one of resid_pre, attn_out, mlp_out, heads/,
      );
      expect(choiceListArg('heads,heads', '--sites', PATCH_SITES)).toEqual(['heads']);
      expect(() => htmlArg('page.svg')).toThrow(/--html: expected a .html file name/);
      expect(() => loadDirectionVector(path.join(tmp, 'nope'))).toThrow(/no such direction file/);
      expect(loadDirectionVector(vecFile).tensor).toBe('refusal');
    } finally {
      model.dispose();
    }
  });
});
