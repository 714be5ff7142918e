/**
 * `glassbox app`'s server: serves the app and the model folder's files with the cross-origin-isolation headers,
 * and nothing outside them: `..`, percent-encoded `%2e%2e` / `%2f` / `%5c`, empty segments (`//etc/passwd`),
 * absolute-form targets, symlinks that point out of the folder. Raw http.request is used because fetch() would
 * normalize `..` away before the server ever saw it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../engine/errors.ts';
import { APP_FILES, requireBuiltApp, splitRequestPath, startAppServer, type AppServer } from '../cli/app-server.ts';

let tmp: string;
let server: AppServer;

function get(p: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: p, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-app-server-'));
  const app = path.join(tmp, 'app');
  const model = path.join(tmp, 'model');
  fs.mkdirSync(app);
  fs.mkdirSync(path.join(model, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(app, 'index.html'), '<!doctype html><title>t</title>');
  for (const f of ['main.js', 'worker.js', 'matmul.wasm']) fs.writeFileSync(path.join(app, f), '');
  fs.writeFileSync(path.join(model, 'config.json'), '{"model_type":"llama"}');
  fs.writeFileSync(path.join(model, 'sub', 'inner.json'), '{}');
  fs.writeFileSync(path.join(tmp, 'secret.txt'), 'SECRET');
  fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(model, 'link-out.txt'));
  fs.symlinkSync(tmp, path.join(model, 'dir-out'));
  fs.symlinkSync(path.join(model, 'config.json'), path.join(model, 'link-in.json'));
  server = await startAppServer({ appDir: app, modelDir: model, port: 0 });
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('app server', () => {
  it('binds 127.0.0.1 and serves the app and the model with COOP/COEP', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toMatch(/text\/html/);
    expect(index.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(index.headers['cross-origin-embedder-policy']).toBe('require-corp');
    const cfg = await get('/model/config.json');
    expect(cfg.status).toBe(200);
    expect(JSON.parse(cfg.body)).toEqual({ model_type: 'llama' });
    expect((await get('/model/sub/inner.json')).status).toBe(200);
    expect((await get('/model/link-in.json')).status).toBe(200); // a symlink that stays inside is fine
    expect((await get('/model/config.json?x=1')).status).toBe(200);
    expect((await get('/model/missing.json')).status).toBe(404);
    expect((await get('/model/sub')).status).toBe(404); // folders are not listed
    expect((await get('/model/config.json', 'POST')).status).toBe(405);
  });

  const refused = [
    '/model/../secret.txt',
    '/model/..',
    '/model/sub/../../secret.txt',
    '/../secret.txt',
    '/model/%2e%2e/secret.txt',
    '/model/%2E%2E/secret.txt',
    '/model/.%2e/secret.txt',
    '/model/..%2fsecret.txt',
    '/model/%2e%2e%2fsecret.txt',
    '/model/..%5csecret.txt',
    '/model/sub%2f..%2f..%2fsecret.txt',
    '//etc/passwd',
    '/model//etc/passwd',
    '/model/%2fetc%2fpasswd',
    '/model/C:%5cWindows',
    '/model/%00',
    '/model/%zz',
    '/model/./config.json',
    '/model/link-out.txt',
    '/model/dir-out/secret.txt',
  ];
  it.each(refused)('refuses %s', async (p) => {
    const r = await get(p);
    expect([403, 404]).toContain(r.status);
    expect(r.body).not.toContain('SECRET');
    expect(r.body).not.toContain('root:');
  });

  it('refuses traversal with 403 (not merely a missing file)', async () => {
    for (const p of [
      '/model/../secret.txt',
      '/model/%2e%2e/secret.txt',
      '/model/link-out.txt',
      '//etc/passwd',
      '/model/dir-out/secret.txt',
    ])
      expect((await get(p)).status, p).toBe(403);
  });

  it('refuses an absolute-form request target', async () => {
    expect((await get('http://127.0.0.1/etc/passwd')).status).toBe(403);
  });

  it('splitRequestPath decodes each segment once and refuses dot segments', () => {
    expect(splitRequestPath('/model/a%20b.json')).toEqual(['model', 'a b.json']);
    expect(splitRequestPath('/model/%252e%252e')).toEqual(['model', '%2e%2e']); // a literal file name, never ..
    expect(splitRequestPath('/')).toEqual([]);
    expect(splitRequestPath('/model/')).toEqual(['model']);
    expect(splitRequestPath('/a/%2e%2e')).toHaveProperty('refused');
  });
});

describe('app server file list', () => {
  it("lists the model folder's regular files inside it, not symlinks out or folders", async () => {
    const r = await get('/model/.glassbox-files.json');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual(['config.json', 'link-in.json']);
  });
});

describe('glassbox app: bad input', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'app', ...args], { encoding: 'utf8', timeout: 60_000 });
  it.each([
    [['/nonexistent-model-folder'], /^glassbox: \/nonexistent-model-folder: model folder not found\n$/],
    [['--port', '70000'], /^glassbox: --port: expected .*70000/],
    [['--port', 'x'], /^glassbox: --port: expected .*"x"/],
  ])('%j exits 1 with one line naming the problem', (args, message) => {
    const r = cli(...args);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('the web app not built', () => {
  // Never touches dist/app: the server and the command are pointed at folders made here.
  it('startAppServer and requireBuiltApp name the first missing file and the command that builds it', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-app-empty-'));
    try {
      const want = `${path.join(empty, 'index.html')}: not found; the web app is not built (run npm run build:app)`;
      expect(() => requireBuiltApp(empty)).toThrow(UsageError);
      expect(() => requireBuiltApp(empty)).toThrow(want);
      await expect(startAppServer({ appDir: empty, modelDir: 'models/tiny-chat', port: 0 })).rejects.toThrow(want);
      // A partial build: each missing piece is named in turn.
      for (const [i, f] of APP_FILES.entries()) {
        expect(() => requireBuiltApp(empty)).toThrow(`${path.join(empty, f)}: not found`);
        fs.writeFileSync(path.join(empty, APP_FILES[i]), '');
      }
      expect(() => requireBuiltApp(empty)).not.toThrow();
      expect(() => requireBuiltApp(path.join(empty, 'nope'))).toThrow(`${path.join(empty, 'nope', 'index.html')}: not found`);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('glassbox app exits 1 with one line naming the missing path and npm run build:app', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-app-empty-'));
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'app', '--port', '0'], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, GLASSBOX_APP_DIR: empty, NO_COLOR: '1' },
      });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`glassbox: ${path.join(empty, 'index.html')}: not found; the web app is not built (run npm run build:app)\n`);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
