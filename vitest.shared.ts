import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));

/**
 * Tests run against the sources of sibling packages (no build needed): `@smallmind/<name>` resolves to
 * `packages/<name>/src/index.ts`. Published builds resolve through each package's exports map instead.
 */
export function packageTestConfig() {
  return defineConfig({
    resolve: {
      alias: [{ find: /^@smallmind\/([a-z-]+)$/, replacement: `${packagesDir}$1/src/index.ts` }],
    },
    test: {
      include: ['src/**/*.test.ts'],
      testTimeout: 120_000,
      hookTimeout: 120_000,
    },
  });
}
