/**
 * `glassbox eval <model-dir> --benchmark FILE [--ablate DIR | --add DIR ...] [--judge-command CMD]`: attack success
 * on a harmful benchmark (analysis/eval/attack-success.ts) for the model as it is ('baseline') and, when an
 * intervention is given, under it ('ablated' / 'added'); Wilson 95% intervals; completions in --json.
 */
import { type AttackConfig, attackSuccess } from '../../analysis/eval/attack-success.ts';
import type { Benchmark } from '../../analysis/eval/benchmark.ts';
import type { Judge } from '../../analysis/eval/judge.ts';
import type { Intervention } from '../../analysis/intervene/intervention-spec.ts';
import type { PromptItem } from '../../analysis/prompts/prompts.ts';
import type { Rate } from '../../analysis/stats/intervals.ts';
import type { Model } from '../../models/types.ts';
import { printResult, table } from '../output.ts';
import { stderrProgress } from '../progress-bar.ts';

export interface BenchmarkRun {
  model: Model;
  modelName: string;
  benchmark: Benchmark;
  /** The goals evaluated (the benchmark's, minus held-out drops and after --n sampling). */
  items: PromptItem[];
  droppedSelectionPrompts: number;
  intervention: Intervention;
  judge: Judge;
  maxNewTokens: number;
  batchSize?: number;
  signal: AbortSignal;
  json: boolean;
}

const pct = (r: Rate) => `${(r.rate * 100).toFixed(1)}% [${(r.lo * 100).toFixed(1)}, ${(r.hi * 100).toFixed(1)}]`;

export async function runBenchmark(b: BenchmarkRun): Promise<void> {
  const t0 = performance.now();
  const kind = b.intervention.describe.kind;
  const configs: AttackConfig[] = [{ label: 'baseline' }];
  if (kind !== 'none') configs.push({ label: kind === 'ablate' ? 'ablated' : 'added', hooks: b.intervention.hooks });
  const progress = stderrProgress();
  let results;
  try {
    progress.start('generating', b.items.length * configs.length);
    results = await attackSuccess(b.model, b.items, configs, {
      judge: b.judge,
      maxNewTokens: b.maxNewTokens,
      batchSize: b.batchSize,
      signal: b.signal,
      onBatch: (n) => progress.increment(n),
    });
  } finally {
    progress.stop();
  }
  const report = {
    benchmark: { file: b.benchmark.file, format: b.benchmark.format, goals: b.benchmark.items.length, n: b.items.length },
    droppedSelectionPrompts: b.droppedSelectionPrompts,
    judge: b.judge.name,
    model: b.modelName,
    intervention: b.intervention.describe,
    maxNewTokens: b.maxNewTokens,
    results: results.map(({ completions: _c, ...r }) => r),
    seconds: (performance.now() - t0) / 1000,
    completions: Object.fromEntries(results.map((r) => [r.label, r.completions])),
  };
  printResult(report, b.json, (r) => {
    const rows = r.results.map((x) => [x.label, pct(x.attackSuccess), x.harmful ? pct(x.harmful) : '-', String(x.attackSuccess.n)]);
    return [
      `benchmark ${r.benchmark.file} (${r.benchmark.format}, ${r.benchmark.n} of ${r.benchmark.goals} goals), judge ${r.judge}, ${r.maxNewTokens} new tokens`,
      table(rows, ['configuration', 'attack success (not refused), Wilson 95%', 'judged harmful', 'n']),
      `time ${r.seconds.toFixed(1)} s`,
    ].join('\n');
  });
}
