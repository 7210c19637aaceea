// Shows the DAG check catches violations: builds throwaway workspaces and checks them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { checkDag, ALLOWED } from './check-dag.mjs';

function workspace(files) {
  const root = mkdtempSync(join(tmpdir(), 'dag-'));
  for (const dir of Object.keys(ALLOWED)) {
    mkdirSync(join(root, 'packages', dir, 'src'), { recursive: true });
    writeFileSync(join(root, 'packages', dir, 'package.json'), JSON.stringify({ name: `@smallmind/${dir}` }));
    writeFileSync(join(root, 'packages', dir, 'src', 'index.ts'), 'export {};\n');
  }
  for (const [path, text] of Object.entries(files)) writeFileSync(join(root, path), text);
  return root;
}

test('the real workspace passes', () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  assert.deepEqual(checkDag(root), []);
});

test('an allowed import passes', () => {
  const root = workspace({ 'packages/runtime/src/a.ts': "import { x } from '@smallmind/io-smq';\n" });
  try { assert.deepEqual(checkDag(root), []); } finally { rmSync(root, { recursive: true }); }
});

test('a package importing itself by name passes', () => {
  const root = workspace({ 'packages/io-smq/src/readme.test.ts': "import { x } from '@smallmind/io-smq';\n" });
  try { assert.deepEqual(checkDag(root), []); } finally { rmSync(root, { recursive: true }); }
});

test('an upward import fails, naming file and target', () => {
  const root = workspace({ 'packages/quantization-tensors/src/a.ts': "import { x } from '@smallmind/runtime';\n" });
  try {
    const problems = checkDag(root);
    assert.equal(problems.length, 1);
    assert.match(problems[0], /quantization-tensors\/src\/a\.ts: imports @smallmind\/runtime/);
  } finally { rmSync(root, { recursive: true }); }
});

test('a sideways import (runtime -> io-gguf) fails, also in tests and dynamic imports', () => {
  const root = workspace({ 'packages/runtime/src/a.test.ts': "const m = await import('@smallmind/io-gguf');\n" });
  try { assert.match(checkDag(root)[0] ?? '', /outside the DAG/); } finally { rmSync(root, { recursive: true }); }
});

test('a dependency outside the DAG in package.json fails', () => {
  const root = workspace({});
  writeFileSync(join(root, 'packages/io-smq/package.json'), JSON.stringify({ name: '@smallmind/io-smq', devDependencies: { '@smallmind/io-gguf': 'workspace:^' } }));
  try { assert.match(checkDag(root)[0] ?? '', /devDependencies @smallmind\/io-gguf is outside the DAG/); } finally { rmSync(root, { recursive: true }); }
});

test('a relative import into another package fails', () => {
  const root = workspace({ 'packages/io-smq/src/a.ts': "import { x } from '../../io-gguf/src/index.js';\n" });
  try { assert.match(checkDag(root)[0] ?? '', /relative import .* leaves packages\/io-smq/); } finally { rmSync(root, { recursive: true }); }
});

test('a cycle in the allowed graph is reported', () => {
  const root = workspace({});
  try {
    const problems = checkDag(root, { ...ALLOWED, 'quantization-tensors': ['engine'] });
    assert.ok(problems.some((p) => p.startsWith('cycle:')), problems.join('\n'));
  } finally { rmSync(root, { recursive: true }); }
});
