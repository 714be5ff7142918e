/**
 * RFC 4180 CSV parsing (quoted fields, doubled quotes, embedded commas and newlines, CRLF). Prompt files such
 * as AdvBench's harmful_behaviors.csv quote fields that contain commas, so a split(',') is not enough.
 */
import { UsageError } from '../../engine/errors.ts';

/** Parses CSV text into rows of fields. `source` names the file in errors. */
export function parseCsv(text: string, source = 'CSV'): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let inQuotes = false;
  let quotedField = false;
  let line = 1;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // BOM
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      if (field.length > 0 || quotedField) throw new UsageError(`${source}: line ${line}: stray quote inside an unquoted field`);
      inQuotes = true;
      quotedField = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
      quotedField = false;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      quotedField = false;
      line++;
    } else {
      if (quotedField) throw new UsageError(`${source}: line ${line}: text after a closing quote`);
      field += c;
    }
  }
  if (inQuotes) throw new UsageError(`${source}: unterminated quoted field`);
  if (field.length > 0 || quotedField || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  // Blank lines carry no record.
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}
