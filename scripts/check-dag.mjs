#!/usr/bin/env node
// Enforces the package DAG of the design card. A package may depend on (package.json) and import
// (any file under src/, tests included) only the @smallmind packages listed for it below, may not
// reach into another package's files by relative path, and the graph must stay acyclic.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ALLOWED = {
  'quantization-tensors': [],
  'quantization-kernels': ['quantization-tensors'],
  'io-smq': ['quantization-tensors'],
  'io-gguf': ['quantization-tensors', 'io-smq'],
  runtime: ['quantization-tensors', 'quantization-kernels', 'io-smq'],
  engine: ['quantization-tensors', 'quantization-kernels', 'io-smq', 'io-gguf', 'runtime'],
};

const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(c|m)?[jt]s$/.test(name)) out.push(p);
  }
  return out;
}

/** Returns a list of violation messages for the workspace rooted at `root` (empty = clean). */
export function checkDag(root, allowed = ALLOWED) {
  const problems = [];
  const pkgsDir = join(root, 'packages');
  const present = readdirSync(pkgsDir).filter((d) => existsSync(join(pkgsDir, d, 'package.json')));
  for (const dir of present) {
    if (!(dir in allowed)) problems.push(`packages/${dir}: not a package of the design (allowed: ${Object.keys(allowed).join(', ')})`);
  }
  for (const dir of present) {
    const ok = new Set(allowed[dir] ?? []);
    const pj = JSON.parse(readFileSync(join(pkgsDir, dir, 'package.json'), 'utf8'));
    if (pj.name !== `@smallmind/${dir}`) problems.push(`packages/${dir}/package.json: name is ${pj.name}, expected @smallmind/${dir}`);
    for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const dep of Object.keys(pj[field] ?? {})) {
        if (!dep.startsWith('@smallmind/')) continue;
        const target = dep.slice('@smallmind/'.length);
        if (!ok.has(target)) problems.push(`packages/${dir}/package.json: ${field} ${dep} is outside the DAG (${dir} may use: ${[...ok].join(', ') || 'nothing'})`);
      }
    }
    const pkgRoot = join(pkgsDir, dir);
    for (const file of [...walk(join(pkgRoot, 'src')), ...walk(join(pkgRoot, 'bench')), ...walk(join(pkgRoot, 'scripts'))]) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(IMPORT_RE)) {
        const spec = m[1];
        const where = `${relative(root, file)}`;
        if (spec.startsWith('@smallmind/')) {
          const target = spec.slice('@smallmind/'.length).split('/')[0];
          // A package may import itself by name (README examples, benches); anything else must be allowed.
          if (target !== dir && !ok.has(target)) problems.push(`${where}: imports ${spec}, outside the DAG (${dir} may use: ${[...ok].join(', ') || 'nothing'})`);
        } else if (spec.startsWith('.')) {
          const abs = resolve(dirname(file), spec);
          if (!(abs + sep).startsWith(pkgRoot + sep)) problems.push(`${where}: relative import ${spec} leaves packages/${dir}`);
        }
      }
    }
  }
  // The allowed graph itself must be acyclic.
  const state = new Map();
  const visit = (n, path) => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'active') { problems.push(`cycle: ${[...path, n].join(' -> ')}`); return; }
    state.set(n, 'active');
    for (const m of allowed[n] ?? []) visit(m, [...path, n]);
    state.set(n, 'done');
  };
  for (const n of Object.keys(allowed)) visit(n, []);
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const problems = checkDag(root);
  if (problems.length > 0) {
    console.error(`Package DAG check failed (${problems.length} problem(s)):\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log('Package DAG check passed.');
}
