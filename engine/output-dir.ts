/**
 * Output folders named on the command line are checked before any long work starts, so a typo in --out fails
 * at once instead of after minutes of computation, and without creating anything.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './errors.ts';

/**
 * Throws a UsageError naming `flag` and the path unless `dir` is an existing folder or could be created: the
 * nearest existing ancestor must be a writable folder. Creates nothing.
 */
export function checkOutputDir(dir: string, flag = '--out'): void {
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
      try {
        fs.accessSync(p, fs.constants.W_OK);
      } catch {
        throw new UsageError(`${flag}: ${dir}: folder ${p} is not writable`);
      }
      return;
    }
    const up = path.dirname(p);
    if (up === p) throw new UsageError(`${flag}: ${dir}: no existing parent folder`);
    p = up;
  }
}

/** Throws a UsageError unless `file` can be written: its folder exists and is writable, and it is not a folder. */
export function checkOutputFile(file: string, flag = '--out'): void {
  const abs = path.resolve(file);
  const parent = path.dirname(abs);
  if (!fs.existsSync(parent)) throw new UsageError(`${flag}: ${file}: folder ${parent} does not exist`);
  checkOutputDir(parent, flag);
  if (fs.existsSync(abs) && fs.statSync(abs).isDirectory()) throw new UsageError(`${flag}: ${file} is a folder`);
}
