/** The project root seen from a bench file, whether it runs from bench/ (tsx) or from its bundle in bench/device/. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function projectRootFrom(metaUrl: string): string {
  let dir = path.dirname(fileURLToPath(metaUrl));
  for (let i = 0; i < 4; i++) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return path.resolve(path.dirname(fileURLToPath(metaUrl)), '..');
}
