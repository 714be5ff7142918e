/**
 * Exports a weight-orthogonalized copy of an HF model folder (docs/method-notes.md §2.6): embedding rows (and GPT-2's
 * wpe), every o_proj / down_proj (HF [d_model, d_in] or GPT-2 Conv1D [d_in, d_model]) and their biases lose
 * their r̂ component. Same tensor names, dtypes and shards as the source; other files copied; the folder is
 * written under a temporary name and renamed, and the source is only read.
 *
 * Tied embeddings: orthogonalizing E would also project the unembedding, which hook ablation does not touch
 * (the logits read ln_final output with the original E). So a tied source is exported untied: lm_head.weight
 * = the original embedding, tie_word_embeddings false; the export then computes exactly what hook ablation
 * computes, up to the dtype rounding of the edited weights.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../engine/dtype.ts';
import { UsageError } from '../../engine/errors.ts';
import { readIndex } from '../../engine/checkpoint.ts';
import { drainSteps, runSteps } from '../../engine/steps.ts';
import { openModelFolder } from '../../engine/model-folder.ts';
import { checkOutputDir, fsError, makeOutputDir, realPathOf } from '../../engine/output-dir.ts';
import { copyFolderFile, folderFileNames } from '../../engine/folder-files.ts';
import { writeAll, writeFileAtomic } from '../../engine/atomic.ts';
import { INDEX_FILE, SINGLE_FILE, type TensorData, type TensorToWrite, writeSafetensorsSteps } from '../../engine/safetensors-writer.ts';
import type { DType, ModelFolder, RawArray } from '../../engine/types.ts';
import { orthogonalizeColumns, orthogonalizeRows } from './orthogonalize.ts';
import { unit } from '../vector-math.ts';

export interface OrthogonalizeInfo {
  pos?: number;
  layer?: number;
  /** Where the direction came from (recorded in __metadata__). */
  source?: string;
  /** Called after each weight file is written (progress for large sharded models). */
  onFile?: (file: string, done: number, total: number) => void;
}

/**
 * Weight files in other formats are not copied: they would carry the unedited weights next to the edited
 * safetensors (e.g. pytorch_model.bin, stories260k's llama2.c .bin), and their index would name missing files.
 */
const OTHER_WEIGHTS = /\.(bin|pt|pth|ckpt|gguf|ggml|h5|msgpack|onnx|npz)$|\.bin\.index\.json$/i;

export interface OrthogonalizeReport {
  outDir: string;
  edited: string[];
  untied: boolean;
  files: string[];
}

type Edit = 'rows' | 'columns';

/** Which tensors to edit and how (rows: each row lives in the residual; columns: the output axis is dim 0). */
export function editPlan(folder: ModelFolder): Map<string, Edit> {
  const { names, config } = folder;
  const plan = new Map<string, Edit>();
  plan.set(`${names.embed}.weight`, 'rows');
  if (names.posEmbed) plan.set(`${names.posEmbed}.weight`, 'rows');
  const linear: Edit = names.conv1d ? 'rows' : 'columns';
  for (const l of names.layers)
    for (const m of [l.o, l.down]) {
      const w = `${m}.weight`;
      if (!folder.weights.has(w))
        throw new UsageError(
          `${folder.dir}: ${m} is not a dense .weight (quantized checkpoints cannot be orthogonalized; use a dense model)`,
        );
      plan.set(w, linear);
      if (folder.weights.has(`${m}.bias`)) plan.set(`${m}.bias`, 'rows');
    }
  if (config.quantization)
    throw new UsageError(`${folder.dir}: config.json declares ${config.quantization.method} quantization; orthogonalize a dense model`);
  return plan;
}

function toF32(dtype: DType, raw: RawArray, name: string): Float32Array {
  if (dtype === 'F32') return Float32Array.from(raw as Float32Array);
  if (dtype === 'BF16') return bf16ToF32(raw as Uint16Array);
  if (dtype === 'F16') return f16ToF32(raw as Uint16Array);
  throw new UsageError(`${name}: dtype ${dtype} cannot be orthogonalized (want F32, BF16 or F16)`);
}

/** Back to the source dtype; bf16/f16 round to nearest even from the f32 edit. */
function fromF32(dtype: DType, x: Float32Array): TensorData {
  if (dtype === 'BF16') return f32ToBf16(x);
  if (dtype === 'F16') return f32ToF16(x);
  return x;
}

/** The export, synchronously (library use, tests). */
export function orthogonalizeFolder(
  srcDir: string,
  r: ArrayLike<number>,
  outDir: string,
  info: OrthogonalizeInfo = {},
): OrthogonalizeReport {
  return drainSteps(orthogonalizeSteps(srcDir, r, outDir, info));
}

/**
 * The export with a breath between tensors, so Ctrl-C is seen: on `signal` the temp folder (and the open temp
 * file) are removed and an InterruptedError is thrown; nothing is left beside the target.
 */
export async function orthogonalizeFolderAsync(
  srcDir: string,
  r: ArrayLike<number>,
  outDir: string,
  info: OrthogonalizeInfo & { signal?: AbortSignal } = {},
): Promise<OrthogonalizeReport> {
  return runSteps(orthogonalizeSteps(srcDir, r, outDir, info), info.signal, 'orthogonalize');
}

function* orthogonalizeSteps(
  srcDir: string,
  r: ArrayLike<number>,
  outDir: string,
  info: OrthogonalizeInfo,
): Generator<void, OrthogonalizeReport> {
  const src = path.resolve(srcDir);
  // --out may be a symlink to a folder: the export goes where it points (the temp folder must sit beside the real
  // target for the final rename to be atomic).
  const out = realPathOf(outDir);
  checkOutputDir(outDir, '--out', [src]);
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0) throw new UsageError(`--out: ${outDir}: already exists and is not empty`);
  const folder = openModelFolder(src);
  removeStaleTemps(out);
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  let done = false;
  try {
    const { config, weights, names } = folder;
    if (r.length !== config.dModel) throw new UsageError(`direction has ${r.length} values, ${srcDir} has d_model ${config.dModel}`);
    const rhat = unit(r);
    const plan = editPlan(folder);
    const untie = config.tiedEmbeddings;
    const embedName = `${names.embed}.weight`;
    const headName = 'lm_head.weight';

    // Shards as in the source: tensor -> file name.
    const sharded = fs.existsSync(path.join(src, INDEX_FILE));
    const shardOf = sharded ? readIndex(src) : new Map(weights.names().map((n) => [n, SINGLE_FILE]));
    const byFile = new Map<string, string[]>();
    for (const n of weights.names()) {
      if (untie && n === headName) continue; // a tied checkpoint's duplicate lm_head is replaced below
      const f = shardOf.get(n) ?? SINGLE_FILE;
      if (!byFile.has(f)) byFile.set(f, []);
      byFile.get(f)!.push(n);
    }
    if (untie) byFile.get(shardOf.get(embedName) ?? SINGLE_FILE)!.push(headName);

    makeOutputDir(tmp);
    const metadata = {
      ...weights.metadata(),
      glassbox_edit: 'refusal-direction weight orthogonalization (embedding, o_proj, down_proj, output biases)',
      glassbox_direction_norm: String(Math.hypot(...Array.from(r as ArrayLike<number>))),
      ...(info.pos !== undefined ? { glassbox_direction_pos: String(info.pos) } : {}),
      ...(info.layer !== undefined ? { glassbox_direction_layer: String(info.layer) } : {}),
      ...(info.source ? { glassbox_direction_source: info.source } : {}),
      ...(untie ? { glassbox_untied: 'lm_head.weight = original embedding (source was tied)' } : {}),
    };
    const tensor = (name: string): TensorToWrite => {
      const srcName = name === headName && untie ? embedName : name;
      const ti = weights.info(srcName);
      const edit = name === headName && untie ? undefined : plan.get(name);
      return {
        name,
        dtype: ti.dtype,
        shape: ti.shape,
        data: () => {
          const raw = weights.readRaw(srcName);
          if (!edit) return raw;
          const f = toF32(ti.dtype, raw, name);
          const e = edit === 'rows' ? orthogonalizeRows(f, rhat) : orthogonalizeColumns(f, rhat);
          return fromF32(ti.dtype, e);
        },
      };
    };
    const files: string[] = [];
    for (const [file, tensorNames] of byFile) {
      yield* writeSafetensorsSteps(path.join(tmp, file), tensorNames.map(tensor), metadata, { sourceDir: src });
      files.push(file);
      info.onFile?.(file, files.length, byFile.size);
    }
    if (sharded) {
      const idx = JSON.parse(fs.readFileSync(path.join(src, INDEX_FILE), 'utf8')) as {
        metadata?: Record<string, unknown>;
        weight_map: Record<string, string>;
      };
      const wm: Record<string, string> = {};
      for (const [f, ns] of byFile) for (const n of ns) wm[n] = f;
      let total = 0;
      for (const ns of byFile.values()) for (const n of ns) total += weights.info(n === headName && untie ? embedName : n).byteLength;
      writeText(
        path.join(tmp, INDEX_FILE),
        JSON.stringify({ ...idx, metadata: { ...(idx.metadata ?? {}), total_size: total }, weight_map: wm }, null, 2) + '\n',
      );
      files.push(INDEX_FILE);
    }
    // Everything else (config, tokenizer, generation config, README) is copied; goldens and other weights are not.
    // Symlinks are resolved and must stay inside the source (or its hub cache's blobs/): engine/folder-files.ts.
    for (const f of folderFileNames(src)) {
      if (f.endsWith('.safetensors') || f === INDEX_FILE || OTHER_WEIGHTS.test(f)) continue;
      if (f === 'config.json' && untie) {
        const cfg = { ...config.raw, tie_word_embeddings: false };
        writeText(path.join(tmp, f), JSON.stringify(cfg, null, 2) + '\n');
      } else copyFolderFile(src, f, tmp);
      files.push(f);
    }
    // rename(2) replaces an empty folder; a folder another export filled meanwhile gives ENOTEMPTY/EEXIST.
    try {
      fs.renameSync(tmp, out);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST')
        throw new UsageError(`--out: ${outDir}: another process wrote it meanwhile (${code}); nothing replaced`);
      throw fsError(e, outDir, 'create the export folder', '--out');
    }
    done = true;
    return { outDir: out, edited: [...plan.keys()], untied: untie, files };
  } finally {
    // Also runs when an interrupted generator is closed (return()), where a catch block would not.
    if (!done) fs.rmSync(tmp, { recursive: true, force: true });
    folder.close();
  }
}

function writeText(file: string, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  writeFileAtomic(file, (fd) => writeAll(fd, bytes));
}

/**
 * The export is synchronous, so Ctrl-C kills the process without cleanup and may leave its hidden temp folder
 * beside the target; the next export to the same target removes temp folders whose process is gone.
 */
export function removeStaleTemps(out: string): void {
  const dir = path.dirname(out);
  if (!fs.existsSync(dir)) return;
  const esc = path.basename(out).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^\\.${esc}\\.(\\d+)-[0-9a-f]{8}\\.tmp$`);
  for (const name of fs.readdirSync(dir)) {
    const m = re.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
