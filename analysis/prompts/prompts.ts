/**
 * Prompt lists: JSON (array of strings, or of objects with instruction / goal / prompt and optional category),
 * JSONL (one such string or object per line) and CSV (a header row; the instruction/goal/prompt column).
 */
import { readUtf8File } from '../../engine/text-file.ts';
import path from 'node:path';
import { UsageError } from '../../engine/errors.ts';
import { parseCsv } from './csv.ts';

export interface PromptItem {
  instruction: string;
  category: string | null;
}

/** A parser's message on one line (JSON.parse quotes the offending text, newlines included). */
const oneLine = (e: unknown): string => (e as Error).message.replace(/\s+/g, ' ').trim();

const TEXT_FIELDS = ['instruction', 'goal', 'prompt'] as const;

function itemFrom(v: unknown, where: string): PromptItem {
  if (typeof v === 'string') return { instruction: v, category: null };
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const key = TEXT_FIELDS.find((k) => typeof o[k] === 'string');
    if (!key) throw new UsageError(`${where}: no string field instruction, goal or prompt`);
    const cat = o.category;
    if (cat != null && typeof cat !== 'string') throw new UsageError(`${where}: field category is not a string`);
    return { instruction: o[key] as string, category: (cat as string | null | undefined) ?? null };
  }
  throw new UsageError(`${where}: expected a string or an object, got ${v === null ? 'null' : typeof v}`);
}

/** Parses prompt-list text; `format` is the file extension without the dot. */
/** JSON lines (blank lines skipped), each value read by `item`; errors name the source and the line. */
export function parseJsonLines<T>(text: string, source: string, item: (v: unknown, where: string) => T): T[] {
  const items: T[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new UsageError(`${source}: line ${i + 1}: invalid JSON (${oneLine(e)})`);
    }
    items.push(item(v, `${source}: line ${i + 1}`));
  });
  return items;
}

export function parsePrompts(text: string, format: 'json' | 'jsonl' | 'csv', source: string): PromptItem[] {
  let items: PromptItem[];
  if (format === 'json') {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`${source}: invalid JSON (${oneLine(e)})`);
    }
    if (!Array.isArray(data)) throw new UsageError(`${source}: expected a JSON array of prompts`);
    items = data.map((v, i) => itemFrom(v, `${source}: item ${i}`));
  } else if (format === 'jsonl') {
    items = parseJsonLines(text, source, itemFrom);
  } else {
    const rows = parseCsv(text, source);
    if (rows.length === 0) throw new UsageError(`${source}: empty CSV`);
    const header = rows[0].map((h) => h.trim().toLowerCase());
    const col = TEXT_FIELDS.map((k) => header.indexOf(k)).find((i) => i >= 0);
    if (col === undefined) throw new UsageError(`${source}: CSV header has no instruction, goal or prompt column`);
    const catCol = header.indexOf('category');
    items = rows.slice(1).map((r, i) => {
      if (r.length <= col) throw new UsageError(`${source}: row ${i + 2} has ${r.length} fields, header has ${header.length}`);
      return { instruction: r[col], category: catCol >= 0 && r[catCol] !== '' ? (r[catCol] ?? null) : null };
    });
  }
  items.forEach((it, i) => {
    if (it.instruction.trim() === '') throw new UsageError(`${source}: prompt ${i} is empty`);
  });
  return items;
}

/** Loads a prompt list, choosing the format by extension (.json, .jsonl, .csv). */
export function loadPrompts(file: string): PromptItem[] {
  const ext = path.extname(file).toLowerCase().slice(1);
  if (ext !== 'json' && ext !== 'jsonl' && ext !== 'csv')
    throw new UsageError(`${file}: unknown prompt file type .${ext} (use .json, .jsonl or .csv)`);
  const text = readUtf8File(file);
  const items = parsePrompts(text, ext, file);
  if (items.length === 0) throw new UsageError(`${file}: no prompts`);
  return items;
}
