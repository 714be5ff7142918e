/**
 * The direction / eval / orthogonalize commands end to end on tiny-chat with a quick profile (our own prompt
 * lists, 16 train / 8 val per class, candidates at layers 4-5 only, 16 new tokens), run in-process.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { register as direction } from '../cli/commands/direction.ts';
import { register as evaluate } from '../cli/commands/eval.ts';
import { register as orthogonalize } from '../cli/commands/orthogonalize.ts';
import { readDirection } from '../analysis/direction/direction-io.ts';
import { isRefusal } from '../analysis/eval/judge.ts';
import { GlassboxError, UsageError } from '../engine/errors.ts';
import { projectRoot } from './helpers/shared.ts';

const TINY = path.join(projectRoot, 'models/tiny-chat');
const HARMFUL = path.join(projectRoot, 'data/prompts/harmful.json');
const HARMLESS = path.join(projectRoot, 'data/prompts/harmless.json');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs one command in-process; returns what it printed on stdout. */
async function cli(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  for (const r of [direction, evaluate, orthogonalize]) r(program);
  let out = '';
  const so = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const se = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['node', 'glassbox', ...args]);
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
  return out;
}

const dirOut = path.join(tmp, 'dir');

describe('glassbox direction', () => {
  it('writes direction.safetensors, selected.json and candidates.json (quick profile)', async () => {
    const out = await cli(
      'direction',
      TINY,
      '--harmful',
      HARMFUL,
      '--harmless',
      HARMLESS,
      '--out',
      dirOut,
      '--n-train',
      '16',
      '--n-val',
      '8',
      '--max-layer-fraction',
      '1.0',
      '--layers',
      '4,5',
      '--json',
    );
    const sel = JSON.parse(out);
    const onDisk = JSON.parse(fs.readFileSync(path.join(dirOut, 'selected.json'), 'utf8'));
    expect(onDisk.pos).toBe(sel.pos);
    expect([4, 5]).toContain(sel.layer);
    expect(sel.pos).toBeGreaterThanOrEqual(-4);
    expect(sel.pos).toBeLessThanOrEqual(-1);
    expect(typeof sel.filtered).toBe('boolean');
    expect(sel.refusalTokens).toEqual([78, 1568]);
    expect(sel.sampled).toEqual({ harmfulTrain: 16, harmlessTrain: 16, harmfulVal: 8, harmlessVal: 8 });
    type CandidateRow = { pos: number; layer: number; bypass: number | null; kl: number | null; skipped?: string[] };
    const read = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'candidates.json'), 'utf8')) as CandidateRow[];
    const cands = read(dirOut);
    expect(cands).toHaveLength(24);
    // Unscored layers are NaN (null in JSON) and filtered; scored ones have a bypass. A KL is missing only where the
    // selection did not need it, and the entry says so.
    for (const c of cands) expect(c.bypass === null).toBe(c.layer < 4);
    for (const c of cands) if (c.bypass !== null) expect(c.kl === null).toBe(!!c.skipped?.includes('kl'));
    expect(sel.fullyScored).toBe(cands.filter((c) => c.bypass !== null && !c.skipped).length);
    expect(Number.isFinite(sel.kl)).toBe(true);
    // --all-scores: every scored candidate gets every score, and the selection is the same.
    const all = JSON.parse(
      await cli(
        ...['direction', TINY, '--harmful', HARMFUL, '--harmless', HARMLESS, '--out', path.join(tmp, 'dir-all')],
        ...['--n-train', '16', '--n-val', '8', '--max-layer-fraction', '1.0', '--layers', '4,5', '--all-scores', '--json'],
      ),
    );
    expect([all.pos, all.layer, all.bypass, all.kl, all.filtered]).toEqual([sel.pos, sel.layer, sel.bypass, sel.kl, sel.filtered]);
    expect(all.fullyScored).toBe(8);
    expect(read(path.join(tmp, 'dir-all')).every((c) => c.bypass === null || (c.kl !== null && !c.skipped))).toBe(true);
    const d = readDirection(dirOut);
    expect(d.r).toHaveLength(192);
    expect([d.pos, d.layer]).toEqual([sel.pos, sel.layer]);
    expect(Math.hypot(...d.r)).toBeCloseTo(sel.norm, 3);
    // Ablating the selected direction lowers the mean harmful refusal score below the base model's.
    const base = JSON.parse(await cli('eval', TINY, '--prompts', HARMFUL, '--n', '8', '--max-tokens', '1', '--json'));
    expect(sel.bypass).toBeLessThan(base.refusalScore);
  });
});

describe('glassbox eval', () => {
  it('reports refusal rate, score, categories and completions under ablation and addition', async () => {
    const abl = JSON.parse(
      await cli('eval', TINY, '--prompts', HARMFUL, '--n', '8', '--max-tokens', '16', '--ablate', dirOut, '--kl', '--json'),
    );
    expect(abl.n).toBe(8);
    expect(abl.completions).toHaveLength(8);
    expect(abl.refusalRate).toBe(abl.completions.filter((c: { completion: string }) => isRefusal(c.completion)).length / 8);
    const cats = Object.values(abl.perCategory) as { n: number }[];
    expect(cats.reduce((s, c) => s + c.n, 0)).toBe(8);
    expect(abl.kl).toBeGreaterThan(0);
    expect(abl.intervention.kind).toBe('ablate');
    const add = JSON.parse(
      await cli(
        'eval',
        TINY,
        '--prompts',
        HARMLESS,
        '--n',
        '8',
        '--max-tokens',
        '16',
        '--add',
        dirOut,
        '--coeff',
        '1',
        '--prompt-only',
        '--ppl',
        path.join(projectRoot, 'data/prompts/harmless_responses.jsonl'),
        '--json',
      ),
    );
    expect(add.intervention).toMatchObject({ kind: 'add', coeff: 1, promptOnly: true });
    expect(add.perplexity).toBeGreaterThan(1);
    expect(add.ce).toBeCloseTo(Math.log(add.perplexity), 9);
  });

  it('held out by default: prompts that selected the direction (its splits.json) are dropped, and the rate has a Wilson interval', async () => {
    const splits = JSON.parse(fs.readFileSync(path.join(dirOut, 'splits.json'), 'utf8'));
    expect(splits.harmfulTest.length).toBeGreaterThan(0);
    const sel = new Set(
      [...splits.harmfulTrain, ...splits.harmfulVal, ...splits.harmlessTrain, ...splits.harmlessVal].map(
        (p: { instruction: string }) => p.instruction,
      ),
    );
    expect(splits.harmfulTest.some((p: { instruction: string }) => sel.has(p.instruction))).toBe(false);
    const file = path.join(tmp, 'mixed.json');
    fs.writeFileSync(file, JSON.stringify([...splits.harmfulTrain.slice(0, 3), ...splits.harmfulTest.slice(0, 2)]));
    const r = JSON.parse(await cli('eval', TINY, '--prompts', file, '--max-tokens', '2', '--ablate', dirOut, '--json'));
    expect(r.n).toBe(2);
    expect(r.droppedSelectionPrompts).toBe(3);
    expect(r.completions.map((c: { instruction: string }) => c.instruction)).toEqual(
      splits.harmfulTest.slice(0, 2).map((p: { instruction: string }) => p.instruction),
    );
    expect(r.refusalRateCi.n).toBe(2);
    expect(r.refusalRateCi.lo).toBeLessThanOrEqual(r.refusalRate);
    const all = JSON.parse(
      await cli('eval', TINY, '--prompts', file, '--max-tokens', '2', '--ablate', dirOut, '--include-selection-prompts', '--json'),
    );
    expect(all.n).toBe(5);
    const only = path.join(tmp, 'only-train.json');
    fs.writeFileSync(only, JSON.stringify(splits.harmfulTrain.slice(0, 2)));
    await expect(cli('eval', TINY, '--prompts', only, '--ablate', dirOut)).rejects.toThrow(/selected the direction/);
  });

  it('rejects bad usage with one-line typed errors', async () => {
    await expect(cli('eval', TINY, '--prompts', path.join(tmp, 'missing.json'))).rejects.toThrow(UsageError);
    await expect(cli('eval', TINY, '--prompts', HARMFUL, '--ablate', dirOut, '--add', dirOut)).rejects.toThrow(/cannot be combined/);
    await expect(cli('eval', TINY, '--prompts', HARMFUL, '--max-tokens', '600')).rejects.toThrow(/--max-tokens/);
    await expect(cli('eval', TINY, '--prompts', HARMFUL, '--ablate', tmp)).rejects.toThrow(/no direction file/);
    await expect(cli('direction', TINY, '--harmful', HARMFUL, '--harmless', HARMLESS, '--out', tmp, '--layers', '9')).rejects.toThrow(
      GlassboxError,
    );
  });
});

describe('glassbox orthogonalize', () => {
  it('exports a folder that refuses like hook ablation on the same prompts', async () => {
    const out = path.join(tmp, 'ortho');
    const rep = JSON.parse(await cli('orthogonalize', TINY, '--direction', dirOut, '--out', out, '--json'));
    expect(rep.untied).toBe(true);
    // Same prompts both ways: the hook run keeps the direction's selection prompts as the export run does.
    const viaHooks = JSON.parse(
      await cli(
        'eval',
        TINY,
        '--prompts',
        HARMFUL,
        '--n',
        '8',
        '--max-tokens',
        '16',
        '--ablate',
        dirOut,
        '--include-selection-prompts',
        '--json',
      ),
    );
    const viaWeights = JSON.parse(await cli('eval', out, '--prompts', HARMFUL, '--n', '8', '--max-tokens', '16', '--json'));
    // bf16 rounding of the edited weights moves refusal scores by ~1e-2 (see analysis-model.test.ts).
    expect(Math.abs(viaWeights.refusalScore - viaHooks.refusalScore)).toBeLessThan(0.1);
    expect(viaWeights.refusalRate).toBeCloseTo(viaHooks.refusalRate, 5);
    // KL between two models: the export against the original equals ablation's KL up to bf16 rounding.
    const klModels = JSON.parse(
      await cli('eval', out, '--prompts', HARMLESS, '--n', '8', '--max-tokens', '1', '--kl-base', TINY, '--json'),
    );
    const klHooks = JSON.parse(
      await cli(
        'eval',
        TINY,
        '--prompts',
        HARMLESS,
        '--n',
        '8',
        '--max-tokens',
        '1',
        '--ablate',
        dirOut,
        '--include-selection-prompts',
        '--kl',
        '--json',
      ),
    );
    expect(klModels.kl).toBeGreaterThan(0);
    expect(Math.abs(klModels.kl - klHooks.kl)).toBeLessThan(0.02 * klHooks.kl + 1e-3);
  });
});
