// The browser builds of the packages: a module `foo.ts` that needs a Node API has a twin `foo.browser.ts` with
// the same exports and no node:* import. This esbuild plugin swaps every relative import of `./foo.js` for the
// twin when one exists, so one source tree yields both builds (tsup `platform: 'browser'` entries, and the test
// that bundles the browser entries and fails on any node:* import left in their graph).
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export function browserVariants() {
  return {
    name: 'smallmind-browser-variants',
    setup(build) {
      build.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
        const twin = resolve(args.resolveDir || dirname(args.importer), args.path.replace(/\.js$/, '.browser.ts'));
        return existsSync(twin) ? { path: twin } : undefined;
      });
    },
  };
}
