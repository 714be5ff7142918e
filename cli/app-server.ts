/**
 * `glassbox app`'s server (Node http, no framework): serves the built web app (dist/app) and one model folder
 * read-only under /model/, on 127.0.0.1, with the headers that make the page cross-origin isolated (COOP + COEP,
 * so SharedArrayBuffer and the kernel threads are available). The model runs in the page, not here.
 *
 * Path safety: the raw request path is split and percent-decoded segment by segment (never normalized first, so
 * `/model/../x` and `/model/%2e%2e/x` are seen as what they are); a segment that decodes to `.`, `..`, or contains
 * `/`, `\` or NUL, an empty segment (`//etc/passwd`), and a file whose real path (symlinks resolved) leaves the
 * served folder are refused with 403. Only regular files are served; GET and HEAD only.
 */
import { createReadStream, existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { UsageError } from '../engine/errors.ts';

export interface AppServerOptions {
  /** The built app (index.html, main.js, worker.js, matmul*.wasm). */
  appDir: string;
  /** The model folder served under /model/ (overrides the copy build:app puts in appDir/model). */
  modelDir: string;
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1: the server is for the local browser only. */
  host?: string;
}

export interface AppServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.jinja': 'text/plain; charset=utf-8',
  '.safetensors': 'application/octet-stream',
};

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
};

/**
 * /model/.glassbox-files.json: the names of the model folder's regular files (top level only), so the page asks
 * only for files that exist (a 404 for each optional file would be logged as a console error).
 */
export const FILE_LIST = '.glassbox-files.json';

export function listFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.') && 'file' in resolveInside(dir, [f]))
    .sort();
}

/** Why a request path was refused, or its decoded segments. */
export function splitRequestPath(rawPath: string): string[] | { refused: string } {
  if (!rawPath.startsWith('/')) return { refused: 'not an absolute-path request target' };
  const segs = rawPath.slice(1).split('/');
  if (segs.length === 1 && segs[0] === '') return [];
  const out: string[] = [];
  for (let i = 0; i < segs.length; i++) {
    const raw = segs[i];
    if (raw === '' && i === segs.length - 1) break; // a trailing slash
    let s: string;
    try {
      s = decodeURIComponent(raw);
    } catch {
      return { refused: `malformed percent-encoding in ${JSON.stringify(raw)}` };
    }
    if (s === '' || s === '.' || s === '..') return { refused: `path segment ${JSON.stringify(raw)}` };
    if (/[\\/\0]/.test(s) || /^[A-Za-z]:/.test(s)) return { refused: `path segment ${JSON.stringify(raw)}` };
    out.push(s);
  }
  return out;
}

/** The real path of root/segs if it is a regular file inside root (symlinks resolved); else why not. */
export function resolveInside(root: string, segs: string[]): { file: string } | { status: number; why: string } {
  const realRoot = realpathSync(root);
  const joined = path.resolve(realRoot, ...segs);
  if (!joined.startsWith(realRoot + path.sep)) return { status: 403, why: 'outside the served folder' };
  let real: string;
  try {
    real = realpathSync(joined);
  } catch {
    return { status: 404, why: 'not found' };
  }
  if (!real.startsWith(realRoot + path.sep)) return { status: 403, why: 'resolves outside the served folder' };
  try {
    if (!statSync(real).isFile()) return { status: 404, why: 'not a file' };
  } catch {
    return { status: 404, why: 'not found' };
  }
  return { file: real };
}

/** What `npm run build:app` writes and the page cannot start without. */
export const APP_FILES = ['index.html', 'main.js', 'worker.js', 'matmul.wasm'] as const;

/** Throws a one-line UsageError naming the first missing built file (and the command that builds it). */
export function requireBuiltApp(appDir: string): void {
  for (const f of APP_FILES) {
    const file = path.join(appDir, f);
    if (!existsSync(file)) throw new UsageError(`${file}: not found; the web app is not built (run npm run build:app)`);
  }
}

export async function startAppServer(opts: AppServerOptions): Promise<AppServer> {
  requireBuiltApp(opts.appDir);
  const appDir = realpathSync(opts.appDir);
  const modelDir = realpathSync(opts.modelDir);
  const server = http.createServer((req, res) => {
    const send = (status: number, text: string) => {
      res.writeHead(status, { ...ISOLATION, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : `${text}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
    const rawPath = (req.url ?? '/').split(/[?#]/)[0];
    const segs = splitRequestPath(rawPath);
    if (!Array.isArray(segs)) return send(403, `refused: ${segs.refused}`);
    if (segs.length === 2 && segs[0] === 'model' && segs[1] === FILE_LIST) {
      const body = JSON.stringify(listFiles(modelDir));
      res.writeHead(200, { ...ISOLATION, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache' });
      return res.end(req.method === 'HEAD' ? undefined : body);
    }
    const [root, rest] = segs[0] === 'model' ? [modelDir, segs.slice(1)] : [appDir, segs.length ? segs : ['index.html']];
    if (rest.length === 0) return send(404, 'not found');
    const r = resolveInside(root, rest);
    if (!('file' in r)) return send(r.status, r.status === 403 ? `refused: ${r.why}` : r.why);
    const st = statSync(r.file);
    res.writeHead(200, {
      ...ISOLATION,
      'Content-Type': TYPES[path.extname(r.file)] ?? 'application/octet-stream',
      'Content-Length': st.size,
      'Cache-Control': 'no-cache',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(r.file)
      .on('error', () => res.destroy())
      .pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      const { port, address } = server.address() as AddressInfo;
      resolve({
        url: `http://${address}:${port}/`,
        port,
        close: () =>
          new Promise<void>((res) => {
            server.closeAllConnections();
            server.close(() => res());
          }),
      });
    });
  });
}
