/** `study merge`: parts of one experiment become one report; seeds become mean ± sd; mismatches are UsageErrors. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../engine/errors.ts';
import { mergeParts } from '../analysis/study/merge.ts';
import { writeReport } from '../analysis/report/write.ts';
import type { StudySummary } from '../analysis/study/summary.ts';
import { fixtureSummary } from './helpers/study-fixture.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-merge-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A part folder holding the fixture's original and the named methods, at a seed. */
async function part(name: string, methods: string[], seed: number, patch: (s: StudySummary) => void = () => {}): Promise<string> {
  const s = fixtureSummary();
  s.methods = s.methods.filter((m) => methods.includes(m.name));
  s.settings = { ...s.settings, methods, seed };
  if (seed !== 1) for (const m of s.methods) m.refusalRate.harmful = { ...m.refusalRate.harmful, rate: m.refusalRate.harmful.rate - 0.1 };
  patch(s);
  const dirs = new Map([['original', { r: Float32Array.of(1, 0, 0, 0, 0, 0, 0, 0), pos: -1, layer: 2 }]]);
  for (const m of s.methods)
    dirs.set(m.name, { r: Float32Array.of(1, 0.1, 0, 0, 0, 0, 0, 0), pos: m.selected.pos, layer: m.selected.layer });
  const dir = path.join(tmp, name);
  // writeReport renders the HTML too; parts are ordinary study --out folders.
  await writeReport(dir, { summary: s, directions: dirs });
  return dir;
}

describe('study merge', () => {
  it("merges one seed's parts into one report with every method, in part order", async () => {
    const a = await part('a', ['int8'], 1);
    const b = await part('b', ['int4-g128', 'wanda-50'], 1);
    const out = mergeParts([a, b]);
    expect(out.summary.methods.map((m) => m.name)).toEqual(['int8', 'int4-g128', 'wanda-50']);
    expect(out.summary.settings.methods).toEqual(['int8', 'int4-g128', 'wanda-50']);
    expect([...out.directions.keys()]).toEqual(['original', 'int8', 'int4-g128', 'wanda-50']);
    expect(out.summary.seeds).toBeUndefined();
    const w = await writeReport(path.join(tmp, 'merged'), out);
    expect(fs.readFileSync(w.html, 'utf8')).toContain('wanda-50');
  });

  it('several seeds: the lowest seed reports, `seeds` holds each seed and mean ± sd', async () => {
    const parts = [
      await part('s1a', ['int8'], 1),
      await part('s2a', ['int8'], 2),
      await part('s1b', ['wanda-50'], 1),
      await part('s2b', ['wanda-50'], 2),
    ];
    const out = mergeParts(parts);
    expect(out.summary.settings.seed).toBe(1);
    expect(out.summary.seeds!.seeds).toEqual([1, 2]);
    const i8 = out.summary.seeds!.overSeeds.int8.harmfulRefusal;
    const r1 = out.summary.methods.find((m) => m.name === 'int8')!.refusalRate.harmful.rate;
    expect(i8.mean).toBeCloseTo(r1 - 0.05, 12);
    expect(i8.sd).toBeCloseTo(Math.sqrt(2 * 0.05 ** 2), 12);
  });

  it('rejects duplicates, mismatched settings, a disagreeing original and missing folders', async () => {
    const a = await part('d1', ['int8'], 1);
    const b = await part('d2', ['int8'], 1);
    expect(() => mergeParts([a, b])).toThrow(/method int8 is in both/);
    const c = await part('d3', ['wanda-50'], 1, (s) => (s.settings.nTest = 99));
    expect(() => mergeParts([a, c])).toThrow(/different settings/);
    const d = await part('d4', ['wanda-50'], 1, (s) => (s.original.selected = { ...s.original.selected, layer: 3 }));
    expect(() => mergeParts([a, d])).toThrow(/disagree on the original/);
    expect(() => mergeParts([path.join(tmp, 'nope')])).toThrow(UsageError);
    expect(() => mergeParts([path.join(tmp, 'nope')])).toThrow(/nope\/summary\.json does not exist/);
    expect(() => mergeParts([])).toThrow(/no part folders/);
  });
});
