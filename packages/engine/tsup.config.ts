import { defineConfig } from 'tsup';
import { browserVariants } from '../../scripts/browser-variants.mjs';

export default defineConfig([
  {
    // The inference worker is its own entry: the engine starts it from `new URL('./inference-worker.js', import.meta.url)`.
    entry: { index: 'src/index.ts', server: 'src/server/index.ts', cli: 'src/cli.ts', 'inference-worker': 'src/worker/inference-worker.ts' },
    format: ['esm'],
    dts: true,
    sourcemap: true,
    target: 'node20',
    tsconfig: 'tsconfig.build.json',
  },
  {
    // `@smallmind/engine/browser` and its Web Worker (started from `new URL('./browser-inference-worker.js', import.meta.url)`).
    // The @smallmind packages stay imports: a bundler resolves them through their `browser` export condition.
    entry: { browser: 'src/browser/index.ts', 'browser-inference-worker': 'src/browser/browser-inference-worker.ts' },
    format: ['esm'],
    dts: true,
    sourcemap: true,
    platform: 'browser',
    target: 'es2022',
    tsconfig: 'tsconfig.build.json',
    esbuildPlugins: [browserVariants()],
  },
]);
