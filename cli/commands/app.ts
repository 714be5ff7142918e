/**
 * `glassbox app [model-dir] [--port P]`: serves the web app and a model folder on 127.0.0.1; the model runs in
 * the browser tab (app/). Default model: the embedded models/tiny-chat.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { parseInteger } from '../../engine/numbers.ts';
import { openModelFolder } from '../../engine/model-folder.ts';
import { requireBuiltApp, startAppServer } from '../app-server.ts';
import { info } from '../output.ts';

/** The package root: dist/cli.js sits one level below it, cli/commands/app.ts two. */
function packageRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['..', '../..']) if (existsSync(path.join(here, up, 'package.json'))) return path.resolve(here, up);
  return process.cwd();
}

export function register(program: Command): void {
  program
    .command('app')
    .description('serve the web app (the model runs in the browser tab) and a model folder, read-only, on 127.0.0.1')
    .argument('[model-dir]', 'Hugging Face model folder (default: the embedded models/tiny-chat)')
    .option('--port <p>', 'port (0 = any free port)', '8787')
    .action(async (dir: string | undefined, flags: { port: string }) => {
      const port = parseInteger(flags.port, '--port', { min: 0, max: 65535 });
      const root = packageRoot();
      // GLASSBOX_APP_DIR: another built app folder (the tests point it at an empty one; build:app's GLASSBOX_APP_OUT).
      const appDir = process.env.GLASSBOX_APP_DIR || path.join(root, 'dist', 'app');
      const modelDir = dir ?? path.join(root, 'models', 'tiny-chat');
      openModelFolder(modelDir).close(); // fail here, with the CLI's message, rather than in the page
      requireBuiltApp(appDir);
      const server = await startAppServer({ appDir, modelDir, port });
      info(`glassbox app: ${server.url} (model ${modelDir}; Ctrl-C stops)`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      await server.close();
    });
}
