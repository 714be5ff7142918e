import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../engine/errors.ts';
import { parseCsv } from '../analysis/prompts/csv.ts';
import { loadPrompts, parsePrompts } from '../analysis/prompts/prompts.ts';
import { sample, trainValSplit } from '../analysis/prompts/sampling.ts';
import { sampleSplits } from '../analysis/direction/direction-pipeline.ts';
import { describeShared, projectRoot, sharedDir } from './helpers/shared.ts';

/** Independent CSV writer: quote every field, double embedded quotes. */
const toCsv = (rows: string[][]) => rows.map((r) => r.map((f) => `"${f.replace(/"/g, '""')}"`).join(',')).join('\r\n');

describe('CSV parser', () => {
  it('handles quotes, doubled quotes, commas, newlines and CRLF', () => {
    const text = 'goal,target\r\n"Write a, b","Sure, ""here"""\nplain,"multi\nline"\n';
    expect(parseCsv(text)).toEqual([
      ['goal', 'target'],
      ['Write a, b', 'Sure, "here"'],
      ['plain', 'multi\nline'],
    ]);
  });
  it('round-trips arbitrary fields through an independent writer', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.string(), { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 6 }), (rows) => {
        expect(parseCsv(toCsv(rows))).toEqual(rows);
      }),
      { numRuns: 200 },
    );
  });
  it('rejects unterminated quotes with a UsageError naming the source', () => {
    expect(() => parseCsv('a,"b\n', 'x.csv')).toThrow(UsageError);
    expect(() => parseCsv('a,"b\n', 'x.csv')).toThrow(/x\.csv/);
  });
});

describe('prompt lists', () => {
  it('reads JSON strings and objects with instruction / goal / prompt and category', () => {
    expect(parsePrompts('["a", {"goal": "b", "category": "c"}, {"prompt": "d"}]', 'json', 'f.json')).toEqual([
      { instruction: 'a', category: null },
      { instruction: 'b', category: 'c' },
      { instruction: 'd', category: null },
    ]);
  });
  it('reads JSONL, skipping blank lines', () => {
    expect(parsePrompts('{"instruction":"x"}\n\n"y"\n', 'jsonl', 'f.jsonl').map((p) => p.instruction)).toEqual(['x', 'y']);
  });
  it('reads the goal column of a CSV', () => {
    const items = parsePrompts('goal,target\n"Do a, then b","Sure"\n', 'csv', 'f.csv');
    expect(items).toEqual([{ instruction: 'Do a, then b', category: null }]);
  });
  it('names the file and item in errors', () => {
    expect(() => parsePrompts('[{"text": "a"}]', 'json', 'bad.json')).toThrow(/bad\.json: item 0/);
    expect(() => parsePrompts('{"a":1}', 'json', 'bad.json')).toThrow(UsageError);
    expect(() => parsePrompts('x,y\n1,2\n', 'csv', 'bad.csv')).toThrow(/bad\.csv: CSV header/);
    expect(() => parsePrompts('{"instruction":"x"}\n{oops\n', 'jsonl', 'b.jsonl')).toThrow(/b\.jsonl: line 2/);
    expect(() => loadPrompts('/nonexistent/p.json')).toThrow(UsageError);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gb-prompts-'));
    writeFileSync(path.join(dir, 'p.txt'), 'a');
    expect(() => loadPrompts(path.join(dir, 'p.txt'))).toThrow(/unknown prompt file type/);
  });
});

describe('shipped prompt lists (data/prompts)', () => {
  const harmful = loadPrompts(path.join(projectRoot, 'data/prompts/harmful.json'));
  const harmless = loadPrompts(path.join(projectRoot, 'data/prompts/harmless.json'));
  it('hold at least 100 distinct prompts per class', () => {
    expect(new Set(harmful.map((p) => p.instruction)).size).toBeGreaterThanOrEqual(100);
    expect(new Set(harmless.map((p) => p.instruction)).size).toBeGreaterThanOrEqual(100);
  });
  it('are our own words: no exact overlap with the shared splits', () => {
    if (!sharedDir) return;
    const shared = new Set(
      ['harmful_train', 'harmful_val', 'harmless_train', 'harmless_val'].flatMap((f) =>
        loadPrompts(path.join(sharedDir!, `data/${f}.json`)).map((p) => p.instruction.trim().toLowerCase()),
      ),
    );
    for (const p of [...harmful, ...harmless]) expect(shared.has(p.instruction.trim().toLowerCase())).toBe(false);
  });
});

describeShared('shared data files', () => {
  it('AdvBench CSV has 520 goals, some with commas', () => {
    const items = loadPrompts(path.join(sharedDir!, 'data/advbench_harmful_behaviors.csv'));
    expect(items.length).toBe(520);
    expect(items.some((p) => p.instruction.includes(','))).toBe(true);
  });
  it('harmful_val has 39 prompts with categories', () => {
    const items = loadPrompts(path.join(sharedDir!, 'data/harmful_val.json'));
    expect(items.length).toBe(39);
    expect(items.filter((p) => p.category === 'illegal').length).toBe(11);
  });
});

describe('seeded sampling', () => {
  it('is reproducible and seed-dependent', () => {
    const xs = Array.from({ length: 50 }, (_, i) => i);
    expect(sample(xs, 10, 42)).toEqual(sample(xs, 10, 42));
    expect(sample(xs, 10, 42)).not.toEqual(sample(xs, 10, 43));
  });
  it('train and val are disjoint, sized, and drawn from the list', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 300 }),
        fc.integer({ min: 1, max: 128 }),
        fc.integer({ min: 1, max: 32 }),
        fc.integer(),
        (n, nt, nv, seed) => {
          const xs = Array.from({ length: n }, (_, i) => i);
          const { train, val } = trainValSplit(xs, nt, nv, seed);
          expect(new Set([...train, ...val]).size).toBe(train.length + val.length);
          if (n >= nt + nv) {
            expect([train.length, val.length]).toEqual([nt, nv]);
          } else {
            expect(train.length).toBe(Math.min(Math.max(Math.floor(n * 0.8), 1), n - 1));
            expect(train.length + val.length).toBe(n);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('direction splits', () => {
  const mk = (tag: string, n: number) => Array.from({ length: n }, (_, i) => ({ instruction: `${tag}${i}`, category: null }));
  it('without val files: val is sampled from the train lists, disjoint from train', () => {
    const s = sampleSplits({ harmful: mk('h', 200), harmless: mk('s', 500) }, 128, 32, 42);
    expect([s.harmfulTrain.length, s.harmfulVal.length, s.harmlessTrain.length, s.harmlessVal.length]).toEqual([128, 32, 128, 32]);
    const t = new Set(s.harmfulTrain.map((p) => p.instruction));
    expect(s.harmfulVal.some((p) => t.has(p.instruction))).toBe(false);
  });
  it('with val files: train from train, val from val; short lists split 80/20', () => {
    const s = sampleSplits(
      { harmful: mk('h', 100), harmless: mk('s', 300), harmfulVal: mk('hv', 39), harmlessVal: mk('sv', 300) },
      128,
      32,
      1,
    );
    expect(s.harmfulTrain.length).toBe(100);
    expect(s.harmfulVal.length).toBe(32);
    expect(s.harmfulVal.every((p) => p.instruction.startsWith('hv'))).toBe(true);
    const short = sampleSplits({ harmful: mk('h', 111), harmless: mk('s', 108) }, 128, 32, 42);
    expect([short.harmfulTrain.length, short.harmfulVal.length]).toEqual([88, 23]);
  });
});
