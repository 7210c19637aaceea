import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// vitest 5's reporter calls Map.groupBy (Node >= 21) when it prints failures; on Node 20 the
// report itself would crash and hide the failure. Provide it in the runner's process.
if (typeof (Map as { groupBy?: unknown }).groupBy !== 'function') {
  Object.defineProperty(Map, 'groupBy', {
    configurable: true,
    writable: true,
    value<K, T>(items: Iterable<T>, keyOf: (item: T, index: number) => K): Map<K, T[]> {
      const groups = new Map<K, T[]>();
      let index = 0;
      for (const item of items) {
        const key = keyOf(item, index++);
        const group = groups.get(key);
        if (group === undefined) groups.set(key, [item]);
        else group.push(item);
      }
      return groups;
    },
  });
}

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
