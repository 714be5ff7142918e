/**
 * `--seeds N`: the whole study rerun over N split seeds (seed, seed + 1, ...): each seed draws new
 * train / val / test splits, so the spread over seeds is the sampling variability of every headline number. The
 * first seed's study is the report; summary.json's `seeds` holds every seed's headline numbers and mean ± sd.
 */
import type { Model } from '../../models/types.ts';
import { meanSd } from '../stats/intervals.ts';
import { runStudy, type StudyInputs, type StudyOptions, type StudyOutput } from './run-study.ts';
import type { SeedResult, SeedRuns, StudySummary } from './summary.ts';

export function seedResultOf(s: StudySummary): SeedResult {
  return {
    seed: s.settings.seed,
    original: { selected: s.original.selected, refusalRate: s.original.refusalRate, splitHalfCosine: s.original.splitHalfCosine },
    methods: s.methods.map((m) => ({
      name: m.name,
      selected: m.selected,
      selectedCosine: m.selectedCosine,
      refusalRate: m.refusalRate,
      kl: m.kl,
      aird: m.aird ? { layer: m.aird.layer, fellBack: m.aird.fellBack, refusalRate: m.aird.refusalRate, kl: m.aird.kl } : undefined,
    })),
  };
}

/** Mean ± sd over seeds of each model's headline numbers. */
export function overSeeds(perSeed: SeedResult[]): SeedRuns['overSeeds'] {
  const out: SeedRuns['overSeeds'] = {
    original: {
      harmfulRefusal: meanSd(perSeed.map((r) => r.original.refusalRate.harmful.rate)),
      harmlessRefusal: meanSd(perSeed.map((r) => r.original.refusalRate.harmless.rate)),
      splitHalfCosine: meanSd(perSeed.map((r) => r.original.splitHalfCosine.value)),
    },
  };
  const names = [...new Set(perSeed.flatMap((r) => r.methods.map((m) => m.name)))];
  for (const name of names) {
    const ms = perSeed.flatMap((r) => r.methods.filter((m) => m.name === name));
    const airds = ms.flatMap((m) => (m.aird ? [m.aird] : []));
    out[name] = {
      selectedCosine: meanSd(ms.map((m) => m.selectedCosine.value)),
      harmfulRefusal: meanSd(ms.map((m) => m.refusalRate.harmful.rate)),
      harmlessRefusal: meanSd(ms.map((m) => m.refusalRate.harmless.rate)),
      kl: meanSd(ms.map((m) => m.kl.value)),
      ...(airds.length ? { airdHarmfulRefusal: meanSd(airds.map((a) => a.refusalRate.harmful.rate)) } : {}),
    };
  }
  return out;
}

export async function runStudySeeds(original: Model, inp: StudyInputs, o: StudyOptions & { nSeeds: number }): Promise<StudyOutput> {
  const seeds = Array.from({ length: Math.max(1, o.nSeeds) }, (_, i) => o.seed + i);
  let first: StudyOutput | null = null;
  const perSeed: SeedResult[] = [];
  for (const seed of seeds) {
    o.log?.(`seed ${seed} (${perSeed.length + 1} of ${seeds.length})`);
    // Compressed models are saved once, from the first seed's run.
    const out = await runStudy(original, inp, { ...o, seed, onCompressed: first ? undefined : o.onCompressed });
    perSeed.push(seedResultOf(out.summary));
    first ??= out;
  }
  const summary = first!.summary;
  if (seeds.length > 1) summary.seeds = { seeds, perSeed, overSeeds: overSeeds(perSeed) };
  return first!;
}
