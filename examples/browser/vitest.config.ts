import { defineConfig } from 'vitest/config';
import '../../vitest.shared.ts'; // its Map.groupBy polyfill: vitest's failure report needs it on Node 20

// The tests drive a real headless Chromium over the built page (no source aliases: the page is bundled from
// the packages' built browser exports, as a user's bundler would).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One Chromium at a time on a 2-core machine.
    fileParallelism: false,
  },
});
