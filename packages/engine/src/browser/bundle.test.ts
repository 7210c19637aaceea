/**
 * The browser entries must pull no Node API into a page: bundle them as a browser bundler would (esbuild,
 * platform browser, the sibling packages from their sources with their `*.browser.ts` twins swapped in, as
 * their tsup browser builds do) and fail on any import of a Node built-in, with or without `node:`.
 */
import { builtinModules } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';

const packagesDir = fileURLToPath(new URL('../../../', import.meta.url));
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/** The build tool's twin-swapping plugin lives with the repository's scripts (tsup configs use it too). */
async function browserVariants(): Promise<Plugin> {
  const url = pathToFileURL(`${packagesDir}../scripts/browser-variants.mjs`).href;
  const module = (await import(url)) as { browserVariants(): Plugin };
  return module.browserVariants();
}

/** Bundles `entry`; returns every Node built-in its graph imports, with the importing file. */
async function nodeImportsOf(entry: string): Promise<string[]> {
  const found: string[] = [];
  const plugins: Plugin[] = [
    {
      name: 'node-builtins',
      setup(b) {
        b.onResolve({ filter: /.*/ }, (args) => {
          const bare = args.path.split('/')[0]!;
          if (!builtins.has(args.path) && !builtins.has(bare)) return undefined;
          found.push(`${args.path} (from ${args.importer.replace(packagesDir, 'packages/')})`);
          return { path: args.path, external: true };
        });
      },
    },
    {
      name: 'workspace-sources',
      setup(b) {
        b.onResolve({ filter: /^@smallmind\/[a-z-]+$/ }, (args) => ({ path: `${packagesDir}${args.path.slice('@smallmind/'.length)}/src/index.ts` }));
      },
    },
    await browserVariants(),
  ];
  await build({ entryPoints: [entry], bundle: true, write: false, platform: 'browser', format: 'esm', target: 'es2022', logLevel: 'silent', plugins });
  return found;
}

describe('the browser entries import no Node API', () => {
  it.each([
    ['@smallmind/engine/browser', 'engine/src/browser/index.ts'],
    ['the browser inference worker', 'engine/src/browser/browser-inference-worker.ts'],
    ['@smallmind/io-smq (browser build)', 'io-smq/src/index.ts'],
    ['@smallmind/io-gguf (browser build)', 'io-gguf/src/index.ts'],
    ['@smallmind/quantization-kernels (browser build)', 'quantization-kernels/src/index.ts'],
    ['@smallmind/runtime', 'runtime/src/index.ts'],
  ])('%s', async (_name, entry) => {
    expect(await nodeImportsOf(`${packagesDir}${entry}`)).toEqual([]);
  });

  it('the check sees Node imports where there are some (the Node entry)', async () => {
    const found = await nodeImportsOf(`${packagesDir}engine/src/index.ts`);
    expect(found.some((f) => f.startsWith('node:worker_threads'))).toBe(true);
    expect(found.some((f) => f.startsWith('node:fs/promises'))).toBe(true);
  });
});
