// CommonJS consumers: every package is ESM-only, and its `default` export condition lets `require()` load the
// built dist through Node's require(esm) (unflagged in Node 20.19+ and 22.12+). Needs `pnpm build` first.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { createRequire } = require('node:module');
const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const root = join(__dirname, '..');
const packages = readdirSync(join(root, 'packages')).map((dir) => {
  const manifest = join(root, 'packages', dir, 'package.json');
  return { manifest, name: JSON.parse(readFileSync(manifest, 'utf8')).name };
});

/** `require(name)` as a CommonJS module inside the package would call it (a self-reference through `exports`). */
function requireFrom(manifest, name) {
  return createRequire(manifest)(name);
}

// process.features.require_module tells whether this Node loads ES modules from require().
const supported = process.features.require_module === true;

test(`this Node (${process.version}) ${supported ? 'has' : 'lacks'} require(esm)`, () => {
  const [major, minor] = process.versions.node.split('.').map(Number);
  const expected = major > 22 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19);
  assert.equal(supported, expected, 'the Node versions documented in README.md (development) are the ones with require(esm)');
});

test("require('@smallmind/engine') loads the built facade and its whole dependency graph", () => {
  const engine = packages.find((p) => p.name === '@smallmind/engine');
  assert.ok(engine, 'packages/engine exists');
  if (!supported) {
    assert.throws(() => requireFrom(engine.manifest, engine.name), { code: 'ERR_REQUIRE_ESM' });
    return;
  }
  const { SmallMindEngine, EngineError } = requireFrom(engine.manifest, engine.name);
  assert.equal(typeof SmallMindEngine, 'function');
  const instance = new SmallMindEngine();
  assert.equal(typeof instance.generate, 'function');
  // The error base reached through require() is the one the ESM graph uses: one module instance.
  const tensors = packages.find((p) => p.name === '@smallmind/quantization-tensors');
  const { SmallMindError } = requireFrom(tensors.manifest, tensors.name);
  assert.ok(new EngineError('INVALID_OPTION', 'x', 'probe') instanceof SmallMindError);
});

for (const { manifest, name } of packages) {
  test(`require('${name}') gives the same exports as import()`, { skip: !supported && 'no require(esm) on this Node' }, async () => {
    const required = requireFrom(manifest, name);
    const imported = await import(pathToFileURL(createRequire(manifest).resolve(name)).href);
    assert.ok(Object.keys(imported).length > 0, `${name} exports something`);
    assert.deepEqual(Object.keys(required).sort(), Object.keys(imported).sort());
    for (const key of Object.keys(imported)) assert.equal(required[key], imported[key], `${name}.${key} is the same binding`);
  });
}
