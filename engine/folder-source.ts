/**
 * What a model folder is made of, independent of where its files live: Node's file system
 * (engine/node-folder-source.ts), bytes in memory (fetched over HTTP by the web app), or the browser's File
 * objects (a dropped or picked folder). The safetensors reader reads through `open` (a ByteSource), the
 * config and tokenizer through `readText`. Browser-safe: no Node imports here.
 */
import { ModelFolderError } from './errors.ts';
import { memorySource, type ByteSource } from './safetensors-reader.ts';

export interface FolderSource {
  /** The folder as named in error messages (a path, a URL, or the picked folder's name). */
  readonly label: string;
  /** Whether `name` (a file name relative to the folder, `/`-separated) is a regular file of the folder. */
  has(name: string): boolean;
  /** The file as UTF-8 text; throws ModelFolderError naming it when absent or unreadable. */
  readText(name: string): string;
  /** The file as a positioned byte source (for safetensors). */
  open(name: string): ByteSource;
}

/** `label/name` for messages. */
export const filePath = (files: FolderSource, name: string): string => `${files.label.replace(/\/+$/, '')}/${name}`;

/**
 * A relative name that stays inside the folder: no absolute path, no `..` or `.` segment, no backslash or
 * NUL. Used for shard names from an index and for names the browser hands over.
 */
export function safeRelativeName(name: string): boolean {
  if (name === '' || name.includes('\0') || name.includes('\\')) return false;
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return false;
  return name.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/** A folder whose files are byte arrays in memory, keyed by relative name. */
export function memoryFolder(label: string, files: ReadonlyMap<string, Uint8Array>): FolderSource {
  const get = (name: string): Uint8Array => {
    const b = files.get(name);
    if (!b) throw new ModelFolderError(`${label}/${name}: file not found`);
    return b;
  };
  return {
    label,
    has: (name) => files.has(name),
    readText: (name) => new TextDecoder('utf-8').decode(get(name)),
    open: (name) => memorySource(get(name)),
  };
}

/** Parses a JSON file of the folder, turning syntax errors into `ErrorClass` naming the file. */
export function readJson(files: FolderSource, name: string, ErrorClass: new (m: string) => Error): unknown {
  const text = files.readText(name);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ErrorClass(`${filePath(files, name)}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}
