/**
 * Atomic file replacement: write to a temporary file in the target's folder (same filesystem, so the rename
 * is atomic), fsync, then rename over the target. Readers see the old file or the new one, never a partial one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { assertNotInSource, fsError } from './output-dir.ts';

export interface TempFile {
  readonly fd: number;
  readonly tmpPath: string;
  readonly target: string;
  /** Set once the fd is closed, so a failed rename never closes an fd number since reused elsewhere. */
  closed: boolean;
}

/**
 * Creates an exclusive temporary file next to `target`. Every file Glassbox writes starts here, so this is where
 * a destination inside a source model folder is refused (engine/output-dir.ts) and where EPERM/EACCES/ENOSPC
 * become one-line errors naming the file.
 */
export function createTemp(target: string): TempFile {
  assertNotInSource(target);
  const tmpPath = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = fs.openSync(tmpPath, 'wx', 0o644);
  } catch (e) {
    throw fsError(e, target, 'write');
  }
  return { fd, tmpPath, target, closed: false };
}

/** Writes all of `bytes` at the current position. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += fs.writeSync(fd, bytes, done, Math.min(1 << 30, bytes.byteLength - done));
}

/** Flushes and closes the temp file, then renames it over its target. */
export function commitTemp(t: TempFile): void {
  fs.fsyncSync(t.fd);
  fs.closeSync(t.fd);
  t.closed = true;
  try {
    fs.renameSync(t.tmpPath, t.target);
  } catch (e) {
    throw fsError(e, t.target, 'write');
  }
}

/** Closes (if still open) and removes the temp file; never throws (it runs while another error unwinds). */
export function discardTemp(t: TempFile): void {
  if (!t.closed) {
    t.closed = true;
    try {
      fs.closeSync(t.fd);
    } catch {
      /* nothing more to do */
    }
  }
  try {
    fs.unlinkSync(t.tmpPath);
  } catch {
    /* already gone */
  }
}

/** Writes a file atomically: `write` fills the temp file's fd; on any error the temp file is removed. */
export function writeFileAtomic(target: string, write: (fd: number) => void): void {
  const t = createTemp(target);
  try {
    write(t.fd);
    commitTemp(t);
  } catch (e) {
    discardTemp(t);
    throw e;
  }
}
