// `npm run build:app`: the web app as static files in dist/app/ (any static host serves them; `glassbox app`
// serves them with the model folder and the cross-origin-isolation headers). The engine worker and the page are
// bundled by esbuild for the browser; Node built-ins that engine files import for their Node-only paths are
// replaced by a stub that throws if ever called there. The wasm kernels are assembled here, ahead of time,
// twice: with a shared memory (threads, cross-origin-isolated pages) and without (any page).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { assembleText, sourceText, wasmDir } from '../kernels/wasm/assemble.mjs';

// GLASSBOX_APP_OUT (tests) names another output folder; it is emptied first, like dist/app.
const out = process.env.GLASSBOX_APP_OUT || 'dist/app';
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const nodeStub = {
  name: 'node-builtins-stub',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (a) => ({ path: a.path, namespace: 'node-stub' }));
    // Bare built-ins, and Dawn (WebGPU for Node: the browser has its own navigator.gpu).
    b.onResolve({ filter: /^(module|fs|path|os|url|crypto|worker_threads|child_process|util|webgpu)$/ }, (a) => ({
      path: a.path,
      namespace: 'node-stub',
    }));
    // node:os is called at run time (decoder-model sizes the KV cache from totalmem): answer from navigator.
    b.onLoad({ filter: /^(node:)?os$/, namespace: 'node-stub' }, () => ({
      contents: `export const totalmem = () => (globalThis.navigator?.deviceMemory ?? 4) * 2 ** 30;
export const availableParallelism = () => globalThis.navigator?.hardwareConcurrency ?? 1;
export const cpus = () => Array.from({ length: availableParallelism() }, () => ({}));
export const loadavg = () => [0, 0, 0];
export default { totalmem, availableParallelism, cpus, loadavg };`,
      loader: 'js',
    }));
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
const wat = sourceText('matmul'); // matmul.wat with the sources composed into it (assemble.mjs COMPOSED)
if (!wat.includes('(memory 1 65536 shared)')) throw new Error(`${src}: the memory import changed; update scripts/build-app.mjs`);
writeFileSync(join(out, 'matmul.wasm'), await assembleText(src, wat));
writeFileSync(join(out, 'matmul-unshared.wasm'), await assembleText(src, wat.replace('(memory 1 65536 shared)', '(memory 1 65536)')));

for (const f of ['index.html', 'style.css']) copyFileSync(join('app', f), join(out, f));
// The project's prompt lists, for the in-tab refusal direction and Wanda's calibration (app/state.ts).
mkdirSync(join(out, 'prompts'), { recursive: true });
for (const f of ['harmful.json', 'harmless.json']) copyFileSync(join('data/prompts', f), join(out, 'prompts', f));
// The embedded model, so the static build works offline (goldens stay behind).
mkdirSync(join(out, 'model'), { recursive: true });
const modelFiles = readdirSync('models/tiny-chat')
  .filter((f) => statSync(join('models/tiny-chat', f)).isFile() && f !== 'README.md')
  .sort();
for (const f of modelFiles) copyFileSync(join('models/tiny-chat', f), join(out, 'model', f));
writeFileSync(join(out, 'model', '.glassbox-files.json'), JSON.stringify(modelFiles)); // as cli/app-server.ts lists it

// Bundle size: what the page loads before it can generate (entries, their static imports, the kernels, html/css)
// and what loads only on use (vega for plots, gpu.js for other backends).
const outputs = result.metafile.outputs;
const rel = (p) => relative(out, p).split(sep).join('/');
const initial = new Set();
const visit = (file) => {
  if (initial.has(file) || !outputs[file]) return;
  initial.add(file);
  for (const i of outputs[file].imports) if (i.kind === 'import-statement') visit(i.path);
};
for (const [file, o] of Object.entries(outputs)) if (o.entryPoint === 'app/main.ts' || o.entryPoint === 'app/worker.ts') visit(file);
const size = (f) => statSync(f).size;
const initialPaths = [...initial, ...['matmul.wasm', 'index.html', 'style.css'].map((f) => join(out, f))];
const initialBytes = initialPaths.reduce((a, f) => a + size(f), 0);
const initialGzipBytes = initialPaths.reduce((a, f) => a + gzipSync(readFileSync(f)).length, 0);
const lazy = Object.keys(outputs)
  .filter((f) => !f.endsWith('.map') && !initial.has(f))
  .map((f) => ({ file: rel(f), bytes: size(f) }));
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const info = { initialBytes, initialGzipBytes, initialFiles: [...initial].map(rel), lazy };
writeFileSync(join(out, 'build-info.json'), JSON.stringify(info, null, 1));
console.log(
  `build:app -> ${out}/: loaded at start ${kb(initialBytes)} minified, ${kb(initialGzipBytes)} gzipped ( ${info.initialFiles.join(', ')}, matmul.wasm, html, css); ` +
    `on use: ${lazy.map((l) => `${l.file} ${kb(l.bytes)}`).join(', ')}; model not counted`,
);
