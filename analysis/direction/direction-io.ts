/**
 * A direction folder, the format `glassbox direction` writes: direction.safetensors (the selected raw vector, f32
 * [d_model], `__metadata__` with pos / layer / model), selected.json (`SelectedJson`), candidates.json
 * (`CandidateJson[]`) and splits.json (`Splits`). `eval --ablate/--add`, `orthogonalize` and the study read it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../engine/errors.ts';
import { openSafetensors } from '../../engine/safetensors-reader.ts';
import { writeFileAtomic, writeAll } from '../../engine/atomic.ts';
import { makeOutputDir } from '../../engine/output-dir.ts';
import { writeSafetensors } from '../../engine/safetensors-writer.ts';
import type { DirectionResult, Splits } from './direction-pipeline.ts';
import type { CandidateScore, FilterReason } from './selection.ts';

export const DIRECTION_FILE = 'direction.safetensors';
export const DIRECTION_TENSOR = 'direction';

export interface DirectionFile {
  /** The raw (unnormalized) difference-in-means vector. */
  r: Float32Array;
  pos: number;
  layer: number;
  model: string;
  metadata: Record<string, string>;
}

export function writeDirection(dir: string, d: Omit<DirectionFile, 'metadata'>, extra: Record<string, string> = {}): void {
  // A zero or non-finite direction cannot be normalized: never write one (every reader would divide by zero).
  let ss = 0;
  for (const x of d.r) ss += x * x;
  if (!(ss > 0) || !Number.isFinite(ss)) throw new UsageError(`${dir}: refusing to write a direction with zero or non-finite norm`);
  makeOutputDir(dir);
  const metadata = { ...extra, pos: String(d.pos), layer: String(d.layer), model: d.model, format: 'glassbox-direction' };
  writeSafetensors(path.join(dir, DIRECTION_FILE), [{ name: DIRECTION_TENSOR, dtype: 'F32', shape: [d.r.length], data: d.r }], metadata);
}

export function writeJson(file: string, value: unknown): void {
  const bytes = Buffer.from(JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  writeFileAtomic(file, (fd) => writeAll(fd, bytes));
}

/** Reads a direction folder (or a direction.safetensors file directly). */
export function readDirection(dirOrFile: string): DirectionFile {
  const file = dirOrFile.endsWith('.safetensors') ? dirOrFile : path.join(dirOrFile, DIRECTION_FILE);
  if (!fs.existsSync(file)) throw new UsageError(`${file}: no direction file (run \`glassbox direction\` first)`);
  const st = openSafetensors(file);
  try {
    if (!st.has(DIRECTION_TENSOR)) throw new UsageError(`${file}: no tensor "${DIRECTION_TENSOR}"`);
    const info = st.info(DIRECTION_TENSOR);
    if (info.shape.length !== 1) throw new UsageError(`${file}: tensor "${DIRECTION_TENSOR}" has shape [${info.shape}], want [d_model]`);
    const r = st.readF32(DIRECTION_TENSOR);
    const m = st.metadata;
    const pos = Number(m.pos);
    const layer = Number(m.layer);
    if (!Number.isInteger(pos) || !Number.isInteger(layer)) throw new UsageError(`${file}: __metadata__ pos/layer missing or not integers`);
    if (!r.every(Number.isFinite)) throw new UsageError(`${file}: tensor "${DIRECTION_TENSOR}" holds NaN/Inf`);
    if (r.every((x) => x === 0)) throw new UsageError(`${file}: tensor "${DIRECTION_TENSOR}" has zero norm`);
    return { r, pos, layer, model: m.model ?? '', metadata: m };
  } finally {
    st.close();
  }
}

/** Checks a direction fits a model's width. */
export function checkDirectionWidth(d: DirectionFile, dModel: number, source: string): void {
  if (d.r.length !== dModel) throw new UsageError(`${source}: direction has ${d.r.length} values, the model's d_model is ${dModel}`);
}

/** selected.json: the selected candidate's scores plus how it was obtained. */
export interface SelectedJson extends CandidateScore {
  filtered: boolean;
  /** Candidates that passed every filter, among those fully scored. */
  survivors: number;
  candidates: number;
  /** Candidates with all three scores computed (the rest were not needed by the selection: `skipped`). */
  fullyScored: number;
  model: string;
  precision: string;
  nLayers: number;
  refusalTokens: number[];
  eoiTokens: number[];
  maxLayerFraction: number;
  seed: number;
  counts: Record<string, number>;
  sampled: Record<string, number>;
  /** Held-out test prompts written to splits.json (harmfulTest / harmlessTest), never used for selection. */
  heldOut: { harmfulTest: number; harmlessTest: number };
  warnings: string[];
  seconds: number;
  backend: string;
}

/** One entry of candidates.json: a candidate's scores and the selection filters it failed. */
export type CandidateJson = CandidateScore & { failed: FilterReason[] };

/**
 * splits.json: the prompts of each selection split after filtering, plus the held-out test split (as sampled) that
 * selected nothing. `eval --ablate/--add DIR` drops any prompt of the selection splits (analysis/eval/held-out.ts).
 */
export type SplitsJson = Splits & { harmfulTest: Splits['harmfulTrain']; harmlessTest: Splits['harmlessTrain'] };

export interface DirectionFolderInfo {
  /** The model folder's name. */
  model: string;
  precision: string;
  maxLayerFraction?: number;
  seed?: number;
  seconds: number;
  backend: string;
}

/** Writes a direction run's folder (direction.safetensors, candidates.json, splits.json, selected.json). */
export function writeDirectionFolder(out: string, res: DirectionResult, info: DirectionFolderInfo): SelectedJson {
  const { selected, filtered, survivors, reasons } = res.selection;
  const { model, precision } = info;
  writeDirection(out, { r: Float32Array.from(res.direction), pos: selected.pos, layer: selected.layer, model }, { precision });
  const candidates: CandidateJson[] = res.scores.map((c, i) => ({ ...c, failed: reasons[i].failed }));
  writeJson(path.join(out, 'candidates.json'), candidates);
  const counts = Object.fromEntries(Object.entries(res.splits).map(([k, v]) => [k, v.length]));
  const splits: SplitsJson = { ...res.splits, harmfulTest: res.sampledSplits.harmfulTest, harmlessTest: res.sampledSplits.harmlessTest };
  writeJson(path.join(out, 'splits.json'), splits);
  const sel: SelectedJson = {
    pos: selected.pos,
    layer: selected.layer,
    bypass: selected.bypass,
    induce: selected.induce,
    kl: selected.kl,
    norm: selected.norm,
    filtered,
    survivors: survivors.length,
    candidates: res.scores.length,
    fullyScored: res.scores.filter((c) => !c.skipped && !Number.isNaN(c.bypass)).length,
    model,
    precision,
    nLayers: res.candidates.nLayers,
    refusalTokens: res.refusalTokens,
    eoiTokens: res.eoiIds,
    maxLayerFraction: info.maxLayerFraction ?? 0.8,
    seed: info.seed ?? 42,
    counts,
    sampled: res.sampled,
    heldOut: { harmfulTest: res.sampledSplits.harmfulTest.length, harmlessTest: res.sampledSplits.harmlessTest.length },
    warnings: res.warnings,
    seconds: info.seconds,
    backend: info.backend,
  };
  writeJson(path.join(out, 'selected.json'), sel);
  return sel;
}
