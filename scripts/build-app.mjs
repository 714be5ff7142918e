// `npm run build:app`: the web app as static files in dist/app/ (any static host serves them; `glassbox app`
// serves them with the model folder and the cross-origin-isolation headers). The engine worker and the page are
// bundled by esbuild for the browser; Node built-ins that engine files import for their Node-only paths are
// replaced by a stub that throws if ever called there. The wasm kernels are assembled here, ahead of time,
// twice: with a shared memory (threads, cross-origin-isolated pages) and without (any page).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { assembleText, wasmDir } from '../kernels/wasm/assemble.mjs';

const out = process.env.GLASSBOX_APP_OUT || 'dist/app';
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const nodeStub = {
  name: 'node-builtins-stub',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (a) => ({ path: a.path, namespace: 'node-stub' }));
    // Bare built-ins, and Dawn (WebGPU for Node: the browser has its own navigator.gpu).
    b.onResolve({ filter: /^(module|fs|path|os|url|crypto|worker_threads|child_process|util|webgpu)$/ }, (a) => ({ path: a.path, namespace: 'node-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, (a) => ({
      contents: `const fail = (k) => () => { throw new Error(${JSON.stringify(a.path)} + '.' + String(k) + ' is not available in the browser'); };
module.exports = new Proxy({}, { get: (_, k) => (k === '__esModule' ? undefined : k === 'default' ? module.exports : fail(k)) });`,
      loader: 'js',
    }));
  },
};

const result = await build({
  entryPoints: { main: 'app/main.ts', worker: 'app/worker.ts' },
  outdir: out,
  bundle: true,
  splitting: true, // backends other than wasm-simd (gpu.js) load only when asked for
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'browser',
  format: 'esm',
  target: ['chrome113', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: true,
  metafile: true,
  plugins: [nodeStub],
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});

const src = join(wasmDir, 'matmul.wat');
const wat = readFileSync(src, 'utf8');
if (!wat.includes('(memory 1 65536 shared)')) throw new Error(`${src}: the memory import changed; update scripts/build-app.mjs`);
writeFileSync(join(out, 'matmul.wasm'), await assembleText(src, wat));
writeFileSync(join(out, 'matmul-unshared.wasm'), await assembleText(src, wat.replace('(memory 1 65536 shared)', '(memory 1 65536)')));

for (const f of ['index.html', 'style.css']) copyFileSync(join('app', f), join(out, f));
// The embedded model, so the static build works offline (goldens stay behind).
mkdirSync(join(out, 'model'), { recursive: true });
const modelFiles = readdirSync('models/tiny-chat').filter((f) => statSync(join('models/tiny-chat', f)).isFile() && f !== 'README.md').sort();
for (const f of modelFiles) copyFileSync(join('models/tiny-chat', f), join(out, 'model', f));
writeFileSync(join(out, 'model', '.glassbox-files.json'), JSON.stringify(modelFiles)); // as app/server.ts lists it

const sizes = {};
for (const f of readdirSync(out)) if (statSync(join(out, f)).isFile() && !f.endsWith('.map')) sizes[f] = statSync(join(out, f)).size;
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const code = Object.entries(sizes).filter(([f]) => !f.startsWith('model')).reduce((a, [, n]) => a + n, 0);
console.log(`build:app -> ${out}/  ${Object.entries(sizes).map(([f, n]) => `${f} ${kb(n)}`).join(', ')}; app code total ${kb(code)} (model not counted)`);
writeFileSync(join(out, 'build-info.json'), JSON.stringify({ sizes, appBytes: code }, null, 1));
void result;
