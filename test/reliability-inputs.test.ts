/**
 * Hostile inputs (issue 10, low): chat templates that never finish, pathological tokenizer regexes, invalid UTF-8,
 * degenerate direction data, lenient numbers and escape sequences in names all end in one clear line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPrompts } from '../analysis/prompts/prompts.ts';
import { readResponsePairs } from '../analysis/eval/ppl-text.ts';
import { ModelFolderError, UsageError } from '../engine/errors.ts';
import { openModelFolder } from '../engine/model-folder.ts';
import { writeSafetensors } from '../engine/safetensors-writer.ts';
import { glassbox, oneLineError } from './helpers/cli-process.ts';
import { projectRoot } from './helpers/shared.ts';

const TINY = path.join(projectRoot, 'models/tiny-chat');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-rel-inputs-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** A tiny-chat copy with `edit(dir)` applied. */
function variant(edit: (dir: string) => void): string {
  const dir = path.join(tmp, `v${n++}`);
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(TINY))
    if (fs.statSync(path.join(TINY, f)).isFile()) fs.copyFileSync(path.join(TINY, f), path.join(dir, f));
  edit(dir);
  return dir;
}
const editJson = (file: string, f: (j: Record<string, unknown>) => void) => {
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  f(j);
  fs.writeFileSync(file, JSON.stringify(j));
};
const withTemplate = (template: string) =>
  variant((d) => editJson(path.join(d, 'tokenizer_config.json'), (j) => (j.chat_template = template)));

describe('chat-template render limit', () => {
  it('range(1000000000) is refused at once (no allocation of a billion-entry list)', () => {
    const f = openModelFolder(withTemplate('{% for i in range(1000000000) %}x{% endfor %}{{ messages[0].content }}'));
    const t0 = performance.now();
    expect(() => f.tokenizer!.encodeChat('hi')).toThrow(UsageError);
    expect(() => f.tokenizer!.encodeChat('hi')).toThrow(/chat_template.*range\(\) of 1000000000 items/);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('nested loops stop at the step limit with a clear error', () => {
    const f = openModelFolder(withTemplate('{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}'));
    const t0 = performance.now();
    expect(() => f.tokenizer!.encodeChat('hi')).toThrow(/chat_template.*(step|items)/);
    expect(performance.now() - t0).toBeLessThan(30_000); // generous: only "it ends" matters, the machine may be loaded
  });

  it('a normal template still renders (tiny-chat)', () => {
    const f = openModelFolder(TINY);
    expect(f.tokenizer!.encodeChat('hi').length).toBeGreaterThan(3);
  });
});

describe('tokenizer regex guard', () => {
  it('a pre-tokenizer Split regex with nested quantifiers (catastrophic backtracking) is refused at load', () => {
    const dir = variant((d) =>
      editJson(path.join(d, 'tokenizer.json'), (j) => {
        j.pre_tokenizer = {
          type: 'Sequence',
          pretokenizers: [{ type: 'Split', pattern: { Regex: '(a+)+$' }, behavior: 'Isolated', invert: false }, j.pre_tokenizer],
        };
      }),
    );
    expect(() => openModelFolder(dir)).toThrow(ModelFolderError);
    expect(() => openModelFolder(dir)).toThrow(/tokenizer\.json: .*regex .*\(a\+\)\+\$.*nested quantifier/);
  });

  it('input beyond the encode limit is refused before tokenizing', () => {
    const f = openModelFolder(TINY);
    expect(() => f.tokenizer!.encode('a'.repeat(5_000_001))).toThrow(/5000001 characters.*limit/);
  });
});

describe('prompt files', () => {
  it('invalid UTF-8 is an error naming the file and the byte offset (not replaced silently)', () => {
    const bad = path.join(tmp, 'bad-utf8.json');
    fs.writeFileSync(bad, Buffer.concat([Buffer.from('["ok", "b'), Buffer.from([0xc3, 0x28]), Buffer.from('"]')]));
    expect(() => loadPrompts(bad)).toThrow(UsageError);
    expect(() => loadPrompts(bad)).toThrow(/bad-utf8\.json: invalid UTF-8 at byte 9/);
    const pairs = path.join(tmp, 'bad-utf8.jsonl');
    fs.writeFileSync(pairs, Buffer.concat([Buffer.from('{"instruction": "a", "output": "'), Buffer.from([0xff]), Buffer.from('"}\n')]));
    expect(() => readResponsePairs(pairs)).toThrow(/bad-utf8\.jsonl: invalid UTF-8 at byte 32/);
  });
});

describe('CLI: strict numbers, degenerate data, escaped names (one line, exit 1)', () => {
  it('lenient numbers are refused: --max-tokens "", --ids 0x10, --methods int8,int8, GLASSBOX_THREADS=1000000', async () => {
    const out = path.join(tmp, 'nums');
    const [maxTokens, ids, methods] = await Promise.all([
      glassbox('generate', TINY, '--ids', '1,2', '--max-tokens', ''),
      glassbox('generate', TINY, '--ids', '0x10', '--max-tokens', '1'),
      glassbox('study', TINY, '--out', out, '--methods', 'int8,int8'),
    ]);
    expect(oneLineError(maxTokens)).toMatch(/--max-tokens/);
    expect(oneLineError(ids)).toMatch(/--ids/);
    expect(oneLineError(methods)).toMatch(/--methods.*int8.*(twice|duplicate)/i);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('GLASSBOX_THREADS beyond the bound is one line naming the variable (no worker flood)', async () => {
    const { execFile } = await import('node:child_process');
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', path.join(projectRoot, 'cli/main.ts'), 'generate', TINY, '--ids', '1,2', '--max-tokens', '1'],
        { cwd: projectRoot, env: { ...process.env, GLASSBOX_THREADS: '1000000', GLASSBOX_BACKEND: 'wasm-simd' }, timeout: 60_000 },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      ),
    );
    expect(oneLineError(r)).toMatch(/GLASSBOX_THREADS/);
  });

  it('direction: --refusal-tokens "" is refused; identical harmful/harmless data (zero-norm direction) errors, writes nothing', async () => {
    const same = path.join(tmp, 'same.json');
    fs.writeFileSync(same, JSON.stringify(Array.from({ length: 8 }, () => 'Tell me about the weather')));
    // held-out test prompts must differ from the selection prompts, or the split itself is refused first
    const held = path.join(tmp, 'held.json');
    fs.writeFileSync(held, JSON.stringify(['Tell me about rain', 'Tell me about snow']));
    const [empty, zero] = await Promise.all([
      glassbox('direction', TINY, '--harmful', same, '--harmless', same, '--out', path.join(tmp, 'd0'), '--refusal-tokens', ''),
      glassbox(
        'direction',
        TINY,
        '--harmful',
        same,
        '--harmless',
        same,
        '--out',
        path.join(tmp, 'd1'),
        '--n-train',
        '2',
        '--n-val',
        '2',
        '--no-filter',
        '--layers',
        '5',
        '--max-layer-fraction',
        '1.0',
        '--eval-harmful',
        held,
        '--eval-harmless',
        held,
      ),
    ]);
    expect(oneLineError(empty)).toMatch(/--refusal-tokens/);
    expect(zero.code, zero.stderr).toBe(1);
    expect(
      zero.stderr
        .trimEnd()
        .split('\n')
        .filter((l) => l.startsWith('glassbox:'))
        .pop(),
    ).toMatch(/zero norm/);
    expect(fs.existsSync(path.join(tmp, 'd1', 'direction.safetensors'))).toBe(false);
  }, 120_000);

  it('config strings and tensor names reach the terminal escaped (no raw ESC/BEL)', async () => {
    const badType = variant((d) => editJson(path.join(d, 'config.json'), (j) => (j.model_type = 'llama\u001b]0;pwned\u0007')));
    const badName = variant((d) => {
      const f = openModelFolder(TINY);
      const tensors = f.weights
        .names()
        .map((name) => ({ name, dtype: f.weights.info(name).dtype, shape: f.weights.info(name).shape, data: f.weights.readRaw(name) }));
      f.close();
      tensors.push({ name: 'extra\u001b]0;pwned\u0007', dtype: 'F32', shape: [1], data: new Float32Array(1) });
      fs.rmSync(path.join(d, 'model.safetensors'));
      writeSafetensors(path.join(d, 'model.safetensors'), tensors);
    });
    const [a, b] = await Promise.all([glassbox('inspect', badType), glassbox('inspect', badName, '--tensors')]);
    expect(oneLineError(a)).toMatch(/unsupported model_type/);
    expect(b.code, b.stderr).toBe(0);
    for (const text of [a.stderr, b.stdout, b.stderr]) expect(text).not.toMatch(/[\u001b\u0007]/);
    expect(b.stdout).toMatch(/extra\\u001b/);
  });
});
