/** The `generate` and `trace` commands end to end on tiny-chat (golden prompt 0), through the real CLI entry. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSafetensors } from '../engine/safetensors-reader.ts';
import { projectRoot } from './helpers/shared.ts';
import { maxAbsDiff } from './helpers/synthetic-model.ts';

const model = path.join(projectRoot, 'models/tiny-chat');
const golden = JSON.parse(readFileSync(path.join(model, 'golden/prompts.json'), 'utf8'))[0] as {
  instruction: string;
  input_ids: number[];
  greedy_completion_ids: number[];
  greedy_completion: string;
  file: string;
};
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'cli/main.ts'), ...args], { cwd: projectRoot, encoding: 'utf8' });
const tmp = mkdtempSync(path.join(tmpdir(), 'glassbox-trace-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('glassbox generate / trace', () => {
  it('generate --chat --json reproduces the golden greedy completion', () => {
    const r = cli('generate', model, '--prompt', golden.instruction, '--chat', '--max-tokens', '48', '--json');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.promptIds).toEqual(golden.input_ids);
    expect(out.generatedIds).toEqual(golden.greedy_completion_ids);
    expect(out.text).toBe(golden.greedy_completion);
    expect(out.tokensPerSecond).toBeGreaterThan(0);
  });

  it('generate streams text without --json, and rejects bad usage with one line', () => {
    const r = cli('generate', model, '--ids', golden.input_ids.join(','), '--max-tokens', '48');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(golden.greedy_completion);
    const bad = cli('generate', model, '--ids', '1,2', '--prompt', 'x');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/exactly one of --prompt/);
    const badQuant = cli('generate', model, '--ids', '1,2', '--quant', 'int3');
    expect(badQuant.stderr).toMatch(/--quant/);
  });

  it('trace writes the requested activations and logits, equal to the goldens', () => {
    const out = path.join(tmp, 't.safetensors');
    const r = cli(
      'trace',
      model,
      '--ids',
      golden.input_ids.join(','),
      '--out',
      out,
      '--hooks',
      'blocks.*.hook_resid_post,blocks.0.attn.hook_pattern',
      '--json',
    );
    expect(r.status, r.stderr).toBe(0);
    const f = openSafetensors(out);
    const g = openSafetensors(path.join(model, 'golden', golden.file));
    const T = golden.input_ids.length;
    expect(f.info('blocks.5.hook_resid_post').shape).toEqual([1, T, 192]);
    expect(f.info('blocks.0.attn.hook_pattern').shape).toEqual([1, 6, T, T]);
    for (let l = 0; l < 6; l++)
      expect(maxAbsDiff(f.readF32(`blocks.${l}.hook_resid_post`), g.readF32(`resid_post.${l}`))).toBeLessThan(1e-3);
    expect(maxAbsDiff(f.readF32('logits'), g.readF32('logits'))).toBeLessThan(1e-3);
    expect(Array.from(f.readRaw('input_ids') as Int32Array)).toEqual(golden.input_ids);
    expect(JSON.parse(r.stdout).tensors.length).toBe(6 + 1 + 2);
    f.close();
    g.close();
    const none = cli('trace', model, '--ids', '1,2', '--out', out, '--hooks', 'nothing.here');
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/matches no hook point/);
  });
});
