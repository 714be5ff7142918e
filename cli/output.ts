/**
 * Output helpers shared by the commands. The contract: with --json, stdout carries exactly one JSON object
 * and nothing else (so `glassbox x --json | jq` always works); progress and info lines go to stderr.
 */
import { terminalSafe } from './terminal.ts';

/** Print a command's result: one JSON object on stdout with `json`, else `text(obj)` (or a key: value list). */
export function printResult<T extends object>(obj: T, json: boolean, text?: (obj: T) => string): void {
  if (json) {
    // JSON.stringify escapes C0 controls but not DEL/C1 (U+009B is a CSI): escape those too, still valid JSON.
    process.stdout.write(
      `${JSON.stringify(obj).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`,
    );
    return;
  }
  // Names and strings from model folders may carry escape sequences: printed escaped (cli/terminal.ts).
  const out = terminalSafe(text ? text(obj) : keyValues(obj as Record<string, unknown>), true);
  process.stdout.write(out.endsWith('\n') ? out : `${out}\n`);
}

/** Progress / informational line: always stderr, never mixed into --json output. */
export function info(message: string): void {
  process.stderr.write(`${terminalSafe(message, true)}\n`);
}

function keyValues(obj: Record<string, unknown>): string {
  const rows = Object.entries(obj).map(([k, v]) => [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)]);
  return table(rows);
}

/** Left-aligned columns separated by two spaces; a header row is underlined when given. */
export function table(rows: string[][], header?: string[]): string {
  const all = header ? [header, header.map((h) => '-'.repeat(h.length)), ...rows] : rows;
  const widths: number[] = [];
  for (const r of all) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}

/** 1234567 -> "1.23 MB" (decimal units, as disk sizes are usually quoted). */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

/** 2755008 -> "2,755,008". */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
