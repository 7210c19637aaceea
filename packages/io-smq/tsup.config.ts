import { defineConfig } from 'tsup';
import { browserVariants } from '../../scripts/browser-variants.mjs';

const common = { format: ['esm'] as const, sourcemap: true, tsconfig: 'tsconfig.build.json' };

export default defineConfig([
  { ...common, entry: ['src/index.ts'], dts: true, target: 'node20' },
  // The same API without node:* imports (each `*.browser.ts` twin replaces its Node module): the `browser` export condition.
  { ...common, entry: { browser: 'src/index.ts' }, platform: 'browser', target: 'es2022', esbuildPlugins: [browserVariants()] },
]);
