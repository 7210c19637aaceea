#!/usr/bin/env node
// Bundles the page into dist/: index.html, main.js (the page) and smallmind-worker.js (the engine's
// inference worker, which the page starts itself: esbuild does not follow `new Worker(new URL(...))`).
// Needs the workspace packages built (`pnpm build` at the root).
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
export const distDir = join(root, 'dist');

/** The engine's built browser worker (dist/browser-inference-worker.js), found through its package. */
export function workerEntry() {
  const require = createRequire(join(root, 'package.json'));
  let enginePackage;
  try {
    enginePackage = require.resolve('@smallmind/engine/package.json');
  } catch {
    throw new Error('@smallmind/engine is not installed: run pnpm install at the repository root');
  }
  return join(dirname(enginePackage), 'dist', 'browser-inference-worker.js');
}

export function buildOptions() {
  return {
    entryPoints: [
      { in: join(root, 'src', 'main.ts'), out: 'main' },
      { in: workerEntry(), out: 'smallmind-worker' },
    ],
    outdir: distDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    sourcemap: true,
    logLevel: 'warning',
    // Bundle what a user gets: the packages' built browser exports, whatever a tsconfig says.
    tsconfigRaw: {},
  };
}

export function copyHtml() {
  mkdirSync(distDir, { recursive: true });
  copyFileSync(join(root, 'index.html'), join(distDir, 'index.html'));
}

/** One build into dist/. */
export async function buildPage() {
  copyHtml();
  try {
    await esbuild.build(buildOptions());
  } catch (error) {
    throw new Error(`building the page failed (is the engine built? run pnpm build at the repository root): ${error instanceof Error ? error.message : String(error)}`);
  }
  return distDir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildPage();
  console.log(`built ${distDir}`);
}
