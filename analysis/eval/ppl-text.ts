/**
 * Perplexity inputs read from disk (docs/method-notes.md §2.8, clarifications "Perplexity text"): prompt + response pairs
 * (.json array or .jsonl of {instruction, output}; loss on the response only) or any other file as plain text.
 * Read before any model work starts, so a bad file fails at once with a UsageError naming the file and row.
 */
import { readUtf8File } from '../../engine/text-file.ts';
import { UsageError } from '../../engine/errors.ts';
import type { Model } from '../../models/types.ts';
import { type CeSequence, responseSequences, textSequences } from './evaluate.ts';

export interface ResponsePair {
  instruction: string;
  output: string;
}

export type PplSource = { kind: 'pairs'; pairs: ResponsePair[] } | { kind: 'text'; text: string };

function readText(file: string, flag: string): string {
  return readUtf8File(file, flag);
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${where}: invalid JSON (${(e as Error).message.replace(/\s+/g, ' ').trim()})`);
  }
}

/**
 * Prompt + response pairs from .json (an array) or .jsonl (one object a line). Rows with a non-empty `input`
 * are skipped, as Arditi keeps only no-input alpaca rows. Throws when no pair remains.
 */
export function readResponsePairs(file: string, flag = '--pairs'): ResponsePair[] {
  const text = readText(file, flag);
  const rows: [unknown, string][] = file.endsWith('.json')
    ? (() => {
        const data = parseJson(text, file);
        if (!Array.isArray(data)) throw new UsageError(`${file}: expected a JSON array of {instruction, output}`);
        return data.map((v, i): [unknown, string] => [v, `${file}: item ${i}`]);
      })()
    : text
        .split(/\r?\n/)
        .map((l, i): [string, string] => [l, `${file}:${i + 1}`])
        .filter(([l]) => l.trim() !== '')
        .map(([l, where]): [unknown, string] => [parseJson(l, where), where]);
  const pairs: ResponsePair[] = [];
  for (const [v, where] of rows) {
    const o = (v ?? {}) as Record<string, unknown>;
    if (typeof o.instruction !== 'string' || typeof o.output !== 'string')
      throw new UsageError(`${where}: needs string fields instruction and output`);
    if (typeof o.input === 'string' && o.input.trim() !== '') continue;
    pairs.push({ instruction: o.instruction, output: o.output });
  }
  if (pairs.length === 0) throw new UsageError(`${file}: no prompt + response pairs`);
  return pairs;
}

/** `--ppl FILE`: pairs for .json / .jsonl, plain text otherwise. */
export function readPplSource(file: string, flag = '--ppl'): PplSource {
  if (file.endsWith('.json') || file.endsWith('.jsonl')) return { kind: 'pairs', pairs: readResponsePairs(file, flag) };
  const text = readText(file, flag);
  if (text.trim() === '') throw new UsageError(`${flag}: ${file} is empty`);
  return { kind: 'text', text };
}

export function pplSequences(model: Model, src: PplSource): CeSequence[] {
  return src.kind === 'pairs' ? responseSequences(model, src.pairs) : textSequences(model, src.text);
}
