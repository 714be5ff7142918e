/**
 * A direction folder: direction.safetensors (the selected raw vector, f32 [d_model], `__metadata__` with
 * pos / layer / model), selected.json and candidates.json. `eval --ablate/--add` and `orthogonalize` read it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../engine/errors.ts';
import { openSafetensors } from '../../engine/safetensors-reader.ts';
import { writeFileAtomic, writeAll } from '../../engine/atomic.ts';
import { writeSafetensors } from '../../engine/safetensors-writer.ts';

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
  fs.mkdirSync(dir, { recursive: true });
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
    return { r, pos, layer, model: m.model ?? '', metadata: m };
  } finally {
    st.close();
  }
}

/** Checks a direction fits a model's width. */
export function checkDirectionWidth(d: DirectionFile, dModel: number, source: string): void {
  if (d.r.length !== dModel) throw new UsageError(`${source}: direction has ${d.r.length} values, the model's d_model is ${dModel}`);
}
