/**
 * The CLI's error contract on bad input, through the real entry point: exit 1, exactly one `glassbox: ...` line
 * on stderr naming the flag / file, nothing on stdout, and no output folder left behind. Every case fails before
 * any model work, so each run costs only the process start (~1-2 s).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDirection } from '../analysis/direction/direction-io.ts';
import { glassbox, oneLineError } from './helpers/cli-process.ts';
import { projectRoot } from './helpers/shared.ts';

const TINY = 'models/tiny-chat';
const HARMFUL = 'data/prompts/harmful.json';
const HARMLESS = 'data/prompts/harmless.json';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'glassbox-cli-errors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const file = (name: string, text: string) => {
  const p = path.join(tmp, name);
  writeFileSync(p, text);
  return p;
};

describe('CLI bad input: one line on stderr, exit 1, nothing written', () => {
  it("commander's own usage errors follow the one-line contract", async () => {
    const [missing, unknown] = await Promise.all([
      glassbox('direction', TINY, '--harmful', HARMFUL, '--harmless', HARMLESS),
      glassbox('inspect', TINY, '--bogus'),
    ]);
    expect(oneLineError(missing)).toMatch(/required option '--out <dir>' not specified/);
    expect(oneLineError(unknown)).toMatch(/unknown option '--bogus'/);
  });

  it('--max-layer-fraction 0 (no candidate layer) is refused by direction as by study', async () => {
    const [direction, study] = await Promise.all([
      glassbox('direction', TINY, '--harmful', HARMFUL, '--harmless', HARMLESS, '--out', path.join(tmp, 'f0'), '--max-layer-fraction', '0'),
      glassbox('study', TINY, '--out', path.join(tmp, 'f0s'), '--max-layer-fraction', '0'),
    ]);
    for (const r of [direction, study])
      expect(oneLineError(r)).toBe('glassbox: --max-layer-fraction: 0 leaves no candidate layer (use a number in (0, 1])');
  });

  it('--precision: unknown values, --precision with --quant, and int8/int4 for the study base are refused', async () => {
    const [bad, both, trace, study] = await Promise.all([
      glassbox('generate', TINY, '--prompt', 'hi', '--precision', 'fp8'),
      glassbox('eval', TINY, '--prompts', HARMFUL, '--precision', 'bf16', '--quant', 'int8'),
      glassbox('trace', TINY, '--prompt', 'hi', '--out', path.join(tmp, 'p.safetensors'), '--precision', 'BF16'),
      glassbox('study', TINY, '--out', path.join(tmp, 'pstudy'), '--precision', 'int8'),
    ]);
    expect(oneLineError(bad)).toBe('glassbox: --precision: "fp8" is not one of auto, f32, bf16, int8, int4');
    expect(oneLineError(both)).toMatch(/^glassbox: give --precision or --quant, not both/);
    expect(oneLineError(trace)).toMatch(/^glassbox: --precision: "BF16" is not one of/);
    expect(oneLineError(study)).toMatch(/^glassbox: --precision: the study's base model runs dense/);
    expect(existsSync(path.join(tmp, 'pstudy'))).toBe(false);
  });

  it('generate: --group-size without --quant int4 is refused instead of ignored', async () => {
    expect(oneLineError(await glassbox('generate', TINY, '--prompt', 'hi', '--group-size', '64'))).toBe(
      'glassbox: --group-size: only applies to --precision int4 (got f32)',
    );
  });

  it('generate: --chat with --ids, and study: a zero int4 group size, are refused up front', async () => {
    const [chat, g0] = await Promise.all([
      glassbox('generate', TINY, '--ids', '1,2', '--chat'),
      glassbox('study', TINY, '--out', path.join(tmp, 'g0'), '--methods', 'int8,int4-g0'),
    ]);
    expect(oneLineError(chat)).toBe('glassbox: --chat applies to --prompt TEXT only; --ids are used as given');
    expect(oneLineError(g0)).toBe('glassbox: --methods: "int4-g0" needs a group size of at least 1');
    expect(existsSync(path.join(tmp, 'g0'))).toBe(false);
  });

  it('a prompt file with invalid JSON is named, on one line (JSON.parse quotes the text, newline included)', async () => {
    const bad = file('bad.json', 'not json\n');
    const out = path.join(tmp, 'dir-bad-json');
    const line = oneLineError(await glassbox('direction', TINY, '--harmful', bad, '--harmless', HARMLESS, '--out', out));
    expect(line).toContain(`${bad}: invalid JSON`);
    expect(existsSync(out)).toBe(false);
  });

  it('eval checks --ppl, --kl-base and --refusal-tokens before generating (no progress line, no stdout)', async () => {
    const badRow = file('pairs.jsonl', '{"instruction":"a","output":"b"}\n{"instruction":"a"}\n');
    const notJson = file('pairs2.jsonl', '{"instruction":"a",\n');
    const base = ['eval', TINY, '--prompts', HARMFUL, '--n', '2', '--max-tokens', '2'];
    const [missing, row, json, klBase, tokens] = await Promise.all([
      glassbox(...base, '--ppl', path.join(tmp, 'missing.txt')),
      glassbox(...base, '--ppl', badRow),
      glassbox(...base, '--ppl', notJson),
      glassbox(...base, '--kl-base', path.join(tmp, 'no-model')),
      glassbox(...base, '--refusal-tokens', '78,99999'),
    ]);
    expect(oneLineError(missing)).toMatch(/--ppl: .*missing\.txt: cannot read \(ENOENT\)/);
    expect(oneLineError(row)).toContain(`${badRow}:2: needs string fields instruction and output`);
    expect(oneLineError(json)).toContain(`${notJson}:1: invalid JSON`);
    expect(oneLineError(klBase)).toContain('no-model');
    expect(oneLineError(tokens)).toMatch(/--refusal-tokens: id 99999 is outside the vocabulary \(0\.\.2047\)/);
  });

  it('study rejects bad --aird-* values even without --aird, and creates no report folder', async () => {
    const out = path.join(tmp, 'study');
    const [variant, alpha, pairs, block] = await Promise.all([
      glassbox('study', TINY, '--out', out, '--methods', 'int8', '--aird-variant', 'Z'),
      glassbox('study', TINY, '--out', out, '--methods', 'int8', '--aird-alpha', 'x'),
      glassbox('study', TINY, '--out', out, '--methods', 'int8', '--pairs', file('empty.jsonl', '\n')),
      // A block index past the model is known once the model is loaded, still before any pipeline work.
      glassbox('study', TINY, '--out', out, '--methods', 'int8', '--aird', '--aird-layer', '6'),
    ]);
    expect(oneLineError(variant)).toMatch(/--aird-variant: expected A, B, C or D, got "Z"/);
    expect(oneLineError(block)).toBe('glassbox: --aird-layer: block 6 is outside 0..5');
    expect(oneLineError(alpha)).toMatch(/--aird-alpha: expected a finite number, got "x"/);
    expect(oneLineError(pairs)).toMatch(/empty\.jsonl: no prompt \+ response pairs/);
    expect(existsSync(out)).toBe(false);
  });

  it('an --out that cannot be written fails before the work, naming the path (direction, study, trace, orthogonalize)', async () => {
    const notDir = file('a-file', '');
    const under = path.join(notDir, 'sub');
    const dirFolder = path.join(tmp, 'direction');
    writeDirection(dirFolder, { r: Float32Array.from({ length: 192 }, (_, i) => Math.sin(i)), pos: -1, layer: 3, model: 'tiny-chat' });
    const [direction, study, trace, ortho] = await Promise.all([
      glassbox('direction', TINY, '--harmful', HARMFUL, '--harmless', HARMLESS, '--out', under),
      glassbox('study', TINY, '--out', notDir, '--methods', 'int8'),
      glassbox('trace', TINY, '--ids', '1,2', '--out', path.join(tmp, 'no-such-folder', 't.safetensors')),
      glassbox('orthogonalize', TINY, '--direction', dirFolder, '--out', under),
    ]);
    expect(oneLineError(direction)).toBe(`glassbox: --out: ${under}: ${notDir} exists and is not a folder`);
    expect(oneLineError(study)).toBe(`glassbox: --out: ${notDir}: ${notDir} exists and is not a folder`);
    expect(oneLineError(trace)).toMatch(/--out: .*no-such-folder\/t\.safetensors: folder .*no-such-folder does not exist/);
    expect(oneLineError(ortho)).toBe(`glassbox: --out: ${under}: ${notDir} exists and is not a folder`);
  });

  it('Ctrl-C during `direction` stops after the current batch: exit 130 (128 + SIGINT), an "interrupted" line, nothing written', async () => {
    const out = path.join(tmp, 'interrupted');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(projectRoot, 'cli/main.ts'),
        'direction',
        TINY,
        '--harmful',
        HARMFUL,
        '--harmless',
        HARMLESS,
        '--out',
        out,
        '--max-layer-fraction',
        '1',
      ],
      { cwd: projectRoot },
    );
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (b) => (stdout += b));
    const code = await new Promise<number | null>((resolve) => {
      // Interrupt once the pipeline has started its first stage (the progress bar is on stderr).
      child.stderr.on('data', (b) => {
        stderr += b;
        if (stderr.includes('filtering') && !child.killed) child.kill('SIGINT');
      });
      child.on('close', resolve);
    });
    expect(code, stderr).toBe(130);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/interrupt received/);
    expect(stderr.trimEnd().split('\n').at(-1)).toMatch(/^glassbox: direction: interrupted \(.*\); nothing written to /);
    expect(existsSync(out)).toBe(false);
  });
});
