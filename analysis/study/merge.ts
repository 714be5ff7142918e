/**
 * `glassbox study merge PART... --out R`: one report from study parts run separately (`study --only METHOD --seed S
 * --out PART`, e.g. as a Slurm array, Kubernetes Jobs or GNU parallel), so a large study fans out without a
 * scheduler of our own. Every part holds the original's pipeline and one or more methods for one seed; parts of
 * the same seed must agree on the original (same selection, same settings), and no method may appear twice in a
 * seed. The lowest seed's parts make the report; with several seeds, `seeds` carries every seed's headline numbers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../engine/errors.ts';
import { readDirection } from '../direction/direction-io.ts';
import type { StudyOutput } from './run-study.ts';
import { overSeeds, seedResultOf } from './seeds.ts';
import type { StudySummary } from './summary.ts';

/** Settings that must agree for two parts to describe the same experiment (methods and seed may differ). */
const sameExperiment = (s: StudySummary) =>
  JSON.stringify({
    model: s.model,
    nTrain: s.settings.nTrain,
    nVal: s.settings.nVal,
    nTest: s.settings.nTest,
    maxTokens: s.settings.maxTokens,
    maxLayerFraction: s.settings.maxLayerFraction,
    calibration: s.settings.calibration,
    bootstrap: s.settings.bootstrap,
    aird: s.settings.aird,
    benchmark: s.settings.benchmark ?? null,
    judge: s.settings.judge ?? 'substring',
  });

export function readPart(dir: string): StudySummary {
  const file = path.join(dir, 'summary.json');
  if (!fs.existsSync(file)) throw new UsageError(`study merge: ${file} does not exist (is ${dir} a study --out folder?)`);
  try {
    const s = JSON.parse(fs.readFileSync(file, 'utf8')) as StudySummary;
    if (!s.settings || !Array.isArray(s.methods) || !s.original) throw new Error('not a study summary');
    return s;
  } catch (e) {
    throw new UsageError(`study merge: ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Merges part folders into one StudyOutput (summary + directions). */
export function mergeParts(dirs: string[]): StudyOutput {
  if (dirs.length === 0) throw new UsageError('study merge: no part folders given');
  const parts = dirs.map((d) => ({ dir: d, s: readPart(d) }));
  const key = sameExperiment(parts[0].s);
  for (const p of parts)
    if (sameExperiment(p.s) !== key)
      throw new UsageError(
        `study merge: ${p.dir} has different settings from ${parts[0].dir} (model, split sizes, tokens, calibration or AIRD)`,
      );
  const bySeed = new Map<number, typeof parts>();
  for (const p of parts) bySeed.set(p.s.settings.seed, [...(bySeed.get(p.s.settings.seed) ?? []), p]);
  const merged = [...bySeed.keys()]
    .sort((a, b) => a - b)
    .map((seed) => {
      const group = bySeed.get(seed)!;
      const first = group[0];
      const seen = new Map<string, string>();
      const methods = group.flatMap((p) => {
        const o = p.s.original.selected;
        const f = first.s.original.selected;
        if (o.pos !== f.pos || o.layer !== f.layer || p.s.original.refusalRate.harmful.rate !== first.s.original.refusalRate.harmful.rate)
          throw new UsageError(
            `study merge: seed ${seed}: ${p.dir} and ${first.dir} disagree on the original (selection or refusal rate); rerun them with the same code and data`,
          );
        return p.s.methods.map((m) => {
          if (seen.has(m.name))
            throw new UsageError(`study merge: seed ${seed}: method ${m.name} is in both ${seen.get(m.name)} and ${p.dir}`);
          seen.set(m.name, p.dir);
          return { m, dir: p.dir };
        });
      });
      const ms = methods.map((x) => x.m);
      const summary: StudySummary = {
        ...first.s,
        settings: { ...first.s.settings, methods: ms.map((m) => m.name) },
        methods: ms,
        orderings: {
          bySelectedCosineDesc: [...ms].sort((a, b) => b.selectedCosine.value - a.selectedCosine.value).map((m) => m.name),
          byHarmfulRefusalDesc: [...ms].sort((a, b) => b.refusalRate.harmful.rate - a.refusalRate.harmful.rate).map((m) => m.name),
          byKlAsc: [...ms].sort((a, b) => a.kl.value - b.kl.value).map((m) => m.name),
        },
        warnings: [...new Set(group.flatMap((p) => p.s.warnings))],
        seconds: group.reduce((a, p) => a + p.s.seconds, 0),
        seeds: undefined,
      };
      return { seed, summary, first, methods };
    });
  const head = merged[0];
  const directions: StudyOutput['directions'] = new Map();
  const dirOf = (part: string, name: string) => path.join(part, 'directions', name.replace(/[^A-Za-z0-9._-]/g, '_'));
  const add = (name: string, part: string) => {
    const d = readDirection(dirOf(part, name));
    directions.set(name, { r: d.r, pos: d.pos, layer: d.layer });
  };
  add('original', head.first.dir);
  for (const { m, dir } of head.methods) add(m.name, dir);
  if (merged.length > 1) {
    const perSeed = merged.map((x) => seedResultOf(x.summary));
    head.summary.seeds = { seeds: merged.map((x) => x.seed), perSeed, overSeeds: overSeeds(perSeed) };
  }
  return { summary: head.summary, directions };
}
