/**
 * Which files a model folder may reach, and the one way Glassbox copies a file out of a model folder.
 *
 * A file of the folder may be a symlink (the Hugging Face hub cache stores every file of a snapshot as a symlink
 * `snapshots/<rev>/<name> -> ../../blobs/<hash>`), but it must resolve inside the folder itself or, for a hub
 * snapshot, inside that cache's `blobs/` folder. Anything else (`tokenizer.json -> ~/.ssh/id_rsa`, a shard `->
 * /etc/...`) is refused with the file named: a model folder from an untrusted tarball cannot pull outside files
 * into an export the user then publishes, nor make the loader read them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeAll, writeFileAtomic } from './atomic.ts';
import { ModelFolderError } from './errors.ts';
import { label, quote } from './safetensors-header.ts';

/** The folders a model folder's files may resolve into: its realpath, plus `<cache>/blobs` for a hub snapshot. */
export function folderRoots(dir: string): string[] {
  const real = fs.realpathSync(dir);
  const roots = [real];
  const snapshots = path.dirname(real);
  if (path.basename(snapshots) === 'snapshots') {
    const blobs = path.join(path.dirname(snapshots), 'blobs');
    try {
      if (fs.statSync(blobs).isDirectory()) roots.push(fs.realpathSync(blobs));
    } catch {
      /* not a hub cache */
    }
  }
  return roots;
}

const within = (p: string, root: string) => p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

/**
 * The realpath of `dir/name`, checked to stay inside the folder's roots and to be a regular file.
 * `what` describes the file in messages (e.g. `shard 'x' (tensor 'y')`); `where` names the file that listed it.
 */
export function resolveFolderFile(dir: string, name: string, where: string = dir, what = `file ${quote(name)}`): string {
  const bad = (why: string): never => {
    throw new ModelFolderError(`${label(where)}: ${what} ${why}`);
  };
  if (path.isAbsolute(name) || path.win32.isAbsolute(name)) bad('is an absolute path');
  if (name.split(/[\\/]/).includes('..')) bad("leaves the folder ('..')");
  let real = '';
  try {
    real = fs.realpathSync(path.join(dir, name));
  } catch {
    bad('does not exist');
  }
  const roots = folderRoots(dir);
  if (!roots.some((r) => within(real, r))) {
    bad(`resolves outside the folder (${label(real)}${roots.length > 1 ? '; only the hub cache blobs/ folder is allowed' : ''})`);
  }
  if (!fs.statSync(real).isFile()) bad('is not a file');
  return real;
}

/**
 * Copies `srcDir/name` to `destDir/name` as a regular file (never a symlink, never a file outside the source's
 * roots), atomically and through the write guard (engine/atomic.ts).
 */
export function copyFolderFile(srcDir: string, name: string, destDir: string): void {
  const real = resolveFolderFile(srcDir, name);
  const bytes = fs.readFileSync(real);
  writeFileAtomic(path.join(destDir, name), (fd) => writeAll(fd, bytes));
}

/** The plain files of a folder as names (symlinks included: they are resolved and checked when copied). */
export function folderFileNames(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() || e.isSymbolicLink())
    .filter((e) => e.isFile() || isFileLink(path.join(dir, e.name)))
    .map((e) => e.name);
}

/** A symlink to a regular file (dangling links and links to folders are not "files" of the folder). */
function isFileLink(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
