import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { REPO_FIXTURES, scratchDir } from './test-support/fixtures.js';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const scratch = scratchDir();
afterAll(() => scratch.cleanup());

describe('README examples', () => {
  it('has examples', () => expect(examples.length).toBeGreaterThanOrEqual(4));

  examples.forEach((code, i) => {
    it(`example ${i + 1} runs against a real fixture`, async () => {
      copyFileSync(join(REPO_FIXTURES, 'stories260K/stories260K-Q4_0.gguf'), join(scratch.dir, 'model.gguf'));
      // File names in the examples are relative: point them into the scratch directory.
      const rewritten = code.replace(/'([\w.-]+\.(?:gguf|smq))'/g, (_, name: string) => JSON.stringify(join(scratch.dir, name)));
      const file = join(scratch.dir, `example-${i}.ts`);
      writeFileSync(file, rewritten);
      const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        await import(/* @vite-ignore */ pathToFileURL(file).href);
        expect(log).toHaveBeenCalled();
      } finally {
        log.mockRestore();
      }
    });
  });
});
