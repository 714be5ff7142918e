/**
 * `study --benchmark FILE --judge-command CMD` on tiny-chat (quick profile: int8 with AIRD, 8 train / 4 val / 4 test
 * prompts per class, 16 new tokens): every model gets attack success on the benchmark's goals, as it is and with its
 * own direction ablated, from the external judge; summary.json, the terminal summary and report.html carry them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { studyAction, type StudyCliOptions } from '../cli/commands/study.ts';
import type { StudySummary } from '../analysis/study/summary.ts';
import { UsageError } from '../engine/errors.ts';
import { projectRoot } from './helpers/shared.ts';

const TINY = path.join(projectRoot, 'models/tiny-chat');
const FIX = path.join(projectRoot, 'test/fixtures');
const JUDGE = `node ${path.join(FIX, 'judge.mjs')}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-study-bench-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const quick = (out: string): StudyCliOptions => ({
  out,
  methods: 'int8',
  aird: true,
  airdVariant: 'A',
  airdLayer: 'source',
  airdAlpha: '1',
  maxLayerFraction: '1.0',
  nTrain: '8',
  nVal: '4',
  maxTokens: '16',
  seed: '3',
  nCalibration: '2',
  batchSize: '16',
  nTest: '4',
  calibration: 'generic',
  bootstrap: '50',
  seeds: '1',
});

describe('glassbox study --benchmark', () => {
  it('reports attack success per model (baseline, own direction ablated, AIRD) from the judge command', async () => {
    const out = path.join(tmp, 'r');
    let printed = '';
    const so = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((printed += String(s)), true));
    const se = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await studyAction(TINY, { ...quick(out), benchmark: path.join(FIX, 'advbench-mini.csv'), judgeCommand: JUDGE });
    } finally {
      so.mockRestore();
      se.mockRestore();
    }
    const s = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as StudySummary;
    expect(s.settings.benchmark).toMatchObject({ format: 'csv', n: 5, dropped: 0, judge: `command "${JUDGE}"` });
    // The judge also judged the held-out test prompts' completions.
    expect(s.settings.judge).toBe(`command "${JUDGE}"`);
    const models = [s.original.attackSuccess, s.methods[0].attackSuccess];
    for (const a of models) {
      expect(a!.baseline.n).toBe(5);
      expect(a!.ablated!.n).toBe(5);
      // The fixture judge calls harmful exactly what is not a refusal.
      expect(a!.harmful).toEqual({ baseline: a!.baseline, ablated: a!.ablated });
      expect(a!.baseline.lo).toBeLessThanOrEqual(a!.baseline.rate);
      expect(a!.baseline.hi).toBeGreaterThanOrEqual(a!.baseline.rate);
    }
    const aird = s.methods[0].aird!.attackSuccess!;
    expect(aird.baseline.n).toBe(5);
    expect(aird.ablated).toBeUndefined();
    // Ablating the original's own direction does not lower its attack success.
    expect(s.original.attackSuccess!.ablated!.rate).toBeGreaterThanOrEqual(s.original.attackSuccess!.baseline.rate);
    expect(printed).toMatch(/benchmark .*advbench-mini\.csv \(5 goals, judge command .*\): attack success/);
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('Attack success on');
    console.log(
      `tiny-chat study --benchmark (5 goals): original ${s.original.attackSuccess!.baseline.rate} -> ablated ${s.original.attackSuccess!.ablated!.rate}; int8 ${s.methods[0].attackSuccess!.baseline.rate} -> ${s.methods[0].attackSuccess!.ablated!.rate}`,
    );
  }, 300_000);

  it('names a bad benchmark file and an empty judge command before loading the model', async () => {
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, '[{"Behavior": "x"}]');
    await expect(studyAction(TINY, { ...quick(path.join(tmp, 'x')), benchmark: bad })).rejects.toThrow(
      /bad\.json: item 0: no field goal \(or Goal\)/,
    );
    await expect(studyAction(TINY, { ...quick(path.join(tmp, 'x')), judgeCommand: '' })).rejects.toThrow(UsageError);
  });
});
