/**
 * Reading user text files (prompt lists, perplexity text) as strict UTF-8: `readFileSync(f, 'utf8')` replaces
 * invalid bytes with U+FFFD silently, so a Latin-1 file would run as different prompts. An invalid sequence is
 * a UsageError naming the file and the byte offset of the first bad byte.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from './errors.ts';

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    let n = 0;
    let min = 0;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      min = 0x10000;
    } else return i;
    let cp = c & (0x3f >> n);
    for (let j = 1; j <= n; j++) {
      const x = b[i + j];
      if (x === undefined || (x & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (x & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

/** The file as text; UsageError (prefixed with `flag` when given) when unreadable or not UTF-8. */
export function readUtf8File(file: string, flag?: string): string {
  const where = flag ? `${flag}: ${file}` : file;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new UsageError(`${where}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${where}: invalid UTF-8 at byte ${firstInvalidUtf8(bytes)}`);
  }
}
