/**
 * The one guard every write goes through. Two jobs:
 *  1. Source model folders are read-only, by construction: openModelFolder() registers each folder it opens
 *     (its realpath, plus a hub cache's blobs/ folder), and engine/atomic.ts asks `assertNotInSource` before
 *     creating any file or folder. Paths are compared by realpath (the nearest existing ancestor's realpath plus
 *     the rest), so `--out link/model.safetensors` with `link -> model` is caught like the plain path.
 *  2. Output paths named on the command line are checked before any long work starts (`checkOutputDir`,
 *     `checkOutputFile`): a typo, an unwritable place (EPERM/EACCES/EROFS, probed by creating and removing a
 *     hidden folder) or a destination inside the model fails at once, in one line, without leaving anything.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './errors.ts';

const protectedDirs = new Set<string>();

/** Marks a folder (a model folder being read) as never written to by this process. */
export function protectSourceFolder(dir: string): void {
  protectedDirs.add(realPathOf(dir));
}

/** The folders registered so far (tests, messages). */
export function protectedFolders(): string[] {
  return [...protectedDirs];
}

/**
 * The realpath `p` has or would have: the nearest existing ancestor resolved (symlinks followed), the missing
 * rest appended. An existing symlink at `p` itself is followed too.
 */
export function realPathOf(p: string): string {
  let head = path.resolve(p);
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync(head), ...rest.reverse());
    } catch {
      const up = path.dirname(head);
      if (up === head) return path.join(head, ...rest.reverse());
      rest.push(path.basename(head));
      head = up;
    }
  }
}

const inside = (p: string, dir: string): boolean => p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

/** Throws a UsageError naming `shown` (and `flag`) when `target` is, or would land, inside a source model folder. */
export function assertNotInSource(target: string, flag?: string, extraSources: string[] = []): void {
  const real = realPathOf(target);
  for (const dir of [...protectedDirs, ...extraSources.map(realPathOf)]) {
    if (inside(real, dir)) {
      const where = flag ? `${flag}: ${target}` : target;
      throw new UsageError(`${where}: refusing to write inside the model folder ${dir} (source models are never modified)`);
    }
  }
}

/** A one-line UsageError for a failed filesystem call on `p` (EPERM, EACCES, ENOSPC, ...). */
export function fsError(e: unknown, p: string, what: string, flag?: string): UsageError {
  const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  return new UsageError(`${flag ? `${flag}: ` : ''}${p}: cannot ${what} (${code})`);
}

/** mkdir -p through the guard; errors become one line naming the folder. */
export function makeOutputDir(dir: string, flag?: string): void {
  assertNotInSource(dir, flag);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw fsError(e, dir, 'create folder', flag);
  }
}

/**
 * Throws a UsageError naming `flag` and the path unless `dir` is an existing folder or could be created: the
 * nearest existing ancestor must be a folder we can create entries in (probed), and `dir` must not be inside a
 * source model folder (`sources` are registered as such). Leaves nothing behind.
 */
export function checkOutputDir(dir: string, flag = '--out', sources: string[] = []): void {
  for (const s of sources) protectSourceFolder(s);
  assertNotInSource(dir, flag);
  let p = path.resolve(dir);
  for (;;) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new UsageError(`${flag}: ${dir}: cannot use ${p} (${code})`);
    }
    if (st) {
      if (!st.isDirectory()) throw new UsageError(`${flag}: ${dir}: ${p} exists and is not a folder`);
      probeWritable(p, dir, flag);
      return;
    }
    const up = path.dirname(p);
    if (up === p) throw new UsageError(`${flag}: ${dir}: no existing parent folder`);
    p = up;
  }
}

/** access(W_OK) says yes to root everywhere (even /sys); creating and removing a hidden folder tells the truth. */
function probeWritable(p: string, shown: string, flag: string): void {
  try {
    fs.accessSync(p, fs.constants.W_OK);
    fs.rmdirSync(fs.mkdtempSync(path.join(p, '.glassbox-probe-')));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'not writable';
    throw new UsageError(`${flag}: ${shown}: folder ${p} is not writable (${code})`);
  }
}

/** Throws a UsageError unless `file` can be written: its folder exists and is writable, and it is not a folder. */
export function checkOutputFile(file: string, flag = '--out', sources: string[] = []): void {
  for (const s of sources) protectSourceFolder(s);
  assertNotInSource(file, flag);
  const abs = path.resolve(file);
  const parent = path.dirname(abs);
  if (!fs.existsSync(parent)) throw new UsageError(`${flag}: ${file}: folder ${parent} does not exist`);
  checkOutputDir(parent, flag);
  if (fs.existsSync(abs) && fs.statSync(abs).isDirectory()) throw new UsageError(`${flag}: ${file} is a folder`);
}
