/** A bench's result: JSON on stdout and, with --out FILE, the same text written atomically to FILE. */
import path from 'node:path';
import { writeAll, writeFileAtomic } from '../engine/atomic.ts';

export function emitJson(json: unknown, outFile: string): void {
  const text = JSON.stringify(json, null, 2);
  console.log(text);
  if (outFile) writeFileAtomic(path.resolve(outFile), (fd) => writeAll(fd, Buffer.from(`${text}\n`)));
}
