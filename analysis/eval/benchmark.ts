/**
 * Harmful benchmark files for attack-success evaluation (Arditi et al. 2024 report attack success on JailbreakBench
 * and AdvBench): an AdvBench-style CSV (a header with a `goal` column; `target` and the rest ignored), a
 * JailbreakBench-style JSON array of objects with `goal` or `Goal` (optional `category` / `Category`), or JSON lines of
 * such objects. The format is chosen by extension (.csv, .json, .jsonl), and by content otherwise; a .json file whose
 * text is JSON lines is read as JSON lines. Errors name the file, the row and the field.
 */
import path from 'node:path';
import { UsageError } from '../../engine/errors.ts';
import { readUtf8File } from '../../engine/text-file.ts';
import { parseCsv } from '../prompts/csv.ts';
import { parseJsonLines, type PromptItem } from '../prompts/prompts.ts';

export type BenchmarkFormat = 'csv' | 'json' | 'jsonl';

export interface Benchmark {
  file: string;
  format: BenchmarkFormat;
  items: PromptItem[];
}

const oneLine = (e: unknown): string => (e as Error).message.replace(/\s+/g, ' ').trim();

/** The goal (and category) of one JSON object; `where` names the file and item. */
function goalOf(v: unknown, where: string): PromptItem {
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new UsageError(
      `${where}: expected an object with a goal field, got ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}`,
    );
  const o = v as Record<string, unknown>;
  const key = 'goal' in o ? 'goal' : 'Goal' in o ? 'Goal' : null;
  if (key === null) throw new UsageError(`${where}: no field goal (or Goal)`);
  const goal = o[key];
  if (typeof goal !== 'string') throw new UsageError(`${where}: field ${key} is not a string`);
  if (goal.trim() === '') throw new UsageError(`${where}: field ${key} is empty`);
  const catKey = 'category' in o ? 'category' : 'Category' in o ? 'Category' : null;
  const cat = catKey ? o[catKey] : null;
  if (cat != null && typeof cat !== 'string') throw new UsageError(`${where}: field ${catKey} is not a string`);
  return { instruction: goal, category: (cat as string | null) ?? null };
}

function parseCsvGoals(text: string, file: string): PromptItem[] {
  const rows = parseCsv(text, file);
  if (rows.length === 0) throw new UsageError(`${file}: empty CSV`);
  const header = rows[0].map((h) => h.trim().toLowerCase());
  const col = header.indexOf('goal');
  if (col < 0) throw new UsageError(`${file}: CSV header has no goal column (AdvBench: goal,target; got ${rows[0].join(',')})`);
  const cat = header.indexOf('category');
  return rows.slice(1).map((r, i) => {
    const where = `${file}: row ${i + 2}`;
    if (r.length <= col) throw new UsageError(`${where}: has ${r.length} fields, no goal (column ${col + 1})`);
    if (r[col].trim() === '') throw new UsageError(`${where}: field goal is empty`);
    return { instruction: r[col], category: cat >= 0 && r[cat] ? r[cat] : null };
  });
}

/** What the text looks like: a JSON array or object on its first character, CSV otherwise. */
function sniff(text: string): BenchmarkFormat {
  const head = text.replace(/^\uFEFF/, '').trimStart()[0];
  return head === '[' ? 'json' : head === '{' ? 'jsonl' : 'csv';
}

/** Parses benchmark text; `file` names it in errors and its extension picks the format (content when unknown). */
export function parseBenchmark(text: string, file: string): Benchmark {
  const ext = path.extname(file).toLowerCase().slice(1);
  let format: BenchmarkFormat = ext === 'csv' || ext === 'json' || ext === 'jsonl' ? ext : sniff(text);
  let items: PromptItem[];
  if (format === 'json') {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      // JSON lines saved as .json (JailbreakBench rows are often shared that way).
      if (sniff(text) !== 'jsonl') throw new UsageError(`${file}: invalid JSON (${oneLine(e)})`);
      data = undefined;
    }
    // One object, or several on their own lines: JSON lines.
    if (data === undefined || (data && typeof data === 'object' && !Array.isArray(data))) {
      format = 'jsonl';
      items = parseJsonLines(text, file, goalOf);
    } else {
      if (!Array.isArray(data)) throw new UsageError(`${file}: expected a JSON array of objects with a goal field`);
      items = data.map((v, i) => goalOf(v, `${file}: item ${i}`));
    }
  } else if (format === 'jsonl') items = parseJsonLines(text, file, goalOf);
  else items = parseCsvGoals(text, file);
  if (items.length === 0) throw new UsageError(`${file}: no benchmark goals`);
  return { file, format, items };
}

/** Reads a benchmark file (strict UTF-8). */
export function loadBenchmark(file: string): Benchmark {
  return parseBenchmark(readUtf8File(file), file);
}
