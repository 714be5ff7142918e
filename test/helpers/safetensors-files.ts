/** Hand-built safetensors bytes and folder snapshots for the safetensors / checkpoint tests. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';

/** A safetensors file from a header object (serialized as given, no validation) and a data region. */
export function rawFile(header: unknown, data: Uint8Array | number = 0, headerText?: string): Uint8Array {
  const json = Buffer.from(headerText ?? JSON.stringify(header), 'utf8');
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.byteLength + d.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(d, 8 + json.byteLength);
  return out;
}

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `glassbox-${tag}-`));
}

/** Every file under `dir` (recursively) with its size and mtime: enough to see that nothing was written. */
export function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = fs.lstatSync(p);
        out.push(`${path.relative(dir, p)} ${st.size} ${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Runs `fn`, expecting an error of class `cls` whose message is one line, matches every pattern (file name,
 * problem), and that `dir` is unchanged afterwards (nothing written, no temp file left behind).
 */
export function expectFailure(fn: () => unknown, cls: new (...a: never[]) => Error, patterns: RegExp[], dir: string): string {
  const before = snapshot(dir);
  let err: unknown = null;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an error').toBeInstanceOf(cls);
  const msg = (err as Error).message;
  expect(msg).not.toMatch(/[\n\r]/);
  for (const p of patterns) expect(msg).toMatch(p);
  expect(snapshot(dir)).toEqual(before);
  return msg;
}
