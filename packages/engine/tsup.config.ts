import { defineConfig } from 'tsup';

export default defineConfig({
  // The inference worker is its own entry: the engine starts it from `new URL('./inference-worker.js', import.meta.url)`.
  entry: { index: 'src/index.ts', server: 'src/server/index.ts', cli: 'src/cli.ts', 'inference-worker': 'src/worker/inference-worker.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  tsconfig: 'tsconfig.build.json',
});
