#!/usr/bin/env node
// Development: rebuild on change and serve dist/ cross-origin isolated on :8080, with the repository's
// fixtures under /models/ (so /models/stories260K/stories260K-F32.gguf works out of the box).
// Flags go to the server: `pnpm dev -- --port 9000`.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { buildOptions, copyHtml, distDir } from './build.mjs';
import { parseServeArgs, startStaticServer } from './serve.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
copyHtml();
const context = await esbuild.context(buildOptions());
await context.watch();
const options = parseServeArgs(['--isolated', '--mount', `/models=${join(root, '..', '..', 'fixtures')}`, ...process.argv.slice(2)], distDir);
const server = await startStaticServer(options);
console.log(`rebuilding on change; serving ${distDir} at ${server.url} (COOP/COEP on); models under ${server.url}models/`);
