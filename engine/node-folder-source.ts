/** FolderSource over Node's file system (the CLI and library); the web app has its own (app/). */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ModelFolderError } from './errors.ts';
import type { FolderSource } from './folder-source.ts';
import { fileSource } from './safetensors-reader.ts';

export function nodeFolderSource(dir: string): FolderSource {
  const full = (name: string) => path.join(dir, name);
  return {
    label: dir,
    has: (name) => {
      try {
        return statSync(full(name)).isFile();
      } catch {
        return false;
      }
    },
    readText: (name) => {
      const file = full(name);
      try {
        return readFileSync(file, 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new ModelFolderError(code === 'ENOENT' ? `${file}: file not found` : `${file}: cannot read (${code ?? String(e)})`);
      }
    },
    open: (name) => fileSource(full(name)),
  };
}
