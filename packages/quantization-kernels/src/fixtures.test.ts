import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GgmlType, createWeightTensor, type GgmlTypeName, type IWeightTensor } from '@smallmind/quantization-tensors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelBackend } from './backend.js';
import { createBackend } from './create-backend.js';
import { kernelFormat } from './kernel-formats.js';
import { expectSameProduct, randomFloats } from './testing/compare.js';

// Real tensors made by llama.cpp: their bytes sit at the `offset`s listed in each NAME.ref.json
// (fixtures README §5). The vendored subset runs by default; the full shared set when present.
const vendoredDir = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const sharedDir = fileURLToPath(new URL('../../../../shared/fixtures/', import.meta.url));

interface RefTensor {
  readonly name: string;
  readonly type: string;
  readonly ne: number[];
  readonly offset: number;
  readonly nbytes: number;
}

interface FixtureMatrix {
  readonly label: string;
  readonly tensor: IWeightTensor;
}

/** Every 2-D tensor with a kernel in the GGUFs under `dir` (recursively). */
function fixtureMatrices(dir: string): FixtureMatrix[] {
  const out: FixtureMatrix[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.name.endsWith('.gguf')) continue;
    const path = `${entry.parentPath}/${entry.name}`;
    const refPath = path.replace(/\.gguf$/, '.ref.json');
    if (!existsSync(refPath)) continue;
    const file = readFileSync(path);
    const { tensors } = JSON.parse(readFileSync(refPath, 'utf8')) as { tensors: RefTensor[] };
    for (const t of tensors) {
      const type = GgmlType[t.type.toUpperCase() as GgmlTypeName];
      if (t.ne.length !== 2 || type === undefined || kernelFormat(type) === undefined) continue;
      const bytes = new Uint8Array(file.buffer, file.byteOffset + t.offset, t.nbytes);
      out.push({ label: `${entry.name} ${t.name} (${t.type} ${t.ne.join('x')})`, tensor: createWeightTensor(type, bytes, t.ne) });
    }
  }
  return out;
}

let backend: KernelBackend;
beforeAll(async () => {
  backend = await createBackend({ threads: 2, minParallelWork: 0, warmUpRounds: 0 });
});
afterAll(async () => {
  await backend.dispose();
});

function checkMatrix({ label, tensor }: FixtureMatrix): void {
  const fast = backend.prepare(tensor);
  expect(fast, label).not.toBe(tensor);
  const n = 2;
  const x = randomFloats(tensor.cols * n, tensor.rows + tensor.cols).map((v) => v * 3);
  const expected = new Float32Array(tensor.rows * n);
  const actual = new Float32Array(tensor.rows * n);
  tensor.matMul(x, n, expected);
  fast.matMul(x, n, actual);
  expectSameProduct(tensor.toFloat32(), tensor.cols, x, n, expected, actual);
  const single = new Float32Array(tensor.rows);
  fast.matVec(x, single);
  expectSameProduct(tensor.toFloat32(), tensor.cols, x, 1, expected.subarray(0, tensor.rows), single);
}

describe('vendored fixtures: smallest and largest matrix of every type', () => {
  const byType = new Map<number, FixtureMatrix[]>();
  for (const matrix of fixtureMatrices(vendoredDir)) byType.set(matrix.tensor.type, [...(byType.get(matrix.tensor.type) ?? []), matrix]);
  const picked: FixtureMatrix[] = [];
  for (const matrices of byType.values()) {
    matrices.sort((a, b) => a.tensor.byteLength - b.tensor.byteLength);
    picked.push(matrices[0]!);
    if (matrices.length > 1) picked.push(matrices.at(-1)!);
  }
  it('covers the kernel formats the vendored files contain', () => {
    const names = new Set(picked.map((m) => m.label.split('(')[1]!.split(' ')[0]!.toLowerCase()));
    for (const expected of ['f32', 'f16', 'q4_0', 'q8_0', 'iq4_nl', 'q2_k', 'q3_k', 'q4_k', 'q6_k']) expect(names).toContain(expected);
  });
  it.each(picked.map((m) => [m.label, m] as const))('%s', (_label, matrix) => checkMatrix(matrix));
});

describe.skipIf(!existsSync(sharedDir))('shared fixtures (../shared/fixtures): every matrix with a kernel', () => {
  const matrices = existsSync(sharedDir) ? fixtureMatrices(sharedDir) : [];
  it.each(matrices.map((m) => [m.label, m] as const))('%s', (_label, matrix) => checkMatrix(matrix));
});
