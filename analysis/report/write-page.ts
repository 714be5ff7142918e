/** Writes an HTML page atomically (Node only; the views themselves are plain strings). */
import { writeAll, writeFileAtomic } from '../../engine/atomic.ts';

export function writeHtml(file: string, html: string): void {
  const bytes = Buffer.from(html, 'utf8');
  writeFileAtomic(file, (fd) => writeAll(fd, bytes));
}
