/**
 * k-quant and IQ formats against llama.cpp's own output.
 *
 * Default suite: every tensor of these types in the vendored fixtures (repo `fixtures/`).
 * Conformance suite (when `../shared/fixtures` exists): every synthetic/ and arch/ file, plus the
 * reference quantizers against llama-quantize's bytes for the same F32 tensors.
 *
 * Tensor bytes are read at `tensors[].offset/nbytes` of NAME.ref.json (no GGUF parser needed).
 * Statistics are llama.cpp's dequantization (`to_float`) of the same bytes: sum/sumsq/maxabs must
 * match to a relative 1e-6 (sums in float64), first8/last4 exactly as float32 (shared README §5-6).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { BlockFormat } from '../block-format.js';
import { GgmlType, type GgmlTypeName } from '../ggml-type.js';
import { iq3SFormat } from './iq3_s.js';
import { iq3XxsFormat } from './iq3_xxs.js';
import { iq4NlFormat } from './iq4_nl.js';
import { iq4XsFormat } from './iq4_xs.js';
import { q2KFormat } from './q2_k.js';
import { q3KFormat } from './q3_k.js';
import { q4KFormat } from './q4_k.js';
import { q5KFormat } from './q5_k.js';
import { q6KFormat } from './q6_k.js';

const vendoredDir = fileURLToPath(new URL('../../../../fixtures/', import.meta.url));
const sharedDir = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));

const formats = new Map<number, BlockFormat>(
  [q2KFormat, q3KFormat, q4KFormat, q5KFormat, q6KFormat, iq3XxsFormat, iq3SFormat, iq4NlFormat, iq4XsFormat].map((format) => [
    format.info.id,
    format,
  ]),
);

interface RefTensor {
  name: string;
  type: string;
  ne: number[];
  offset: number;
  nbytes: number;
  sha256: string;
  sum: number;
  sumsq: number;
  maxabs: number;
  first8: number[];
  last4: number[];
}

interface Fixture {
  /** Path relative to its fixtures root, for test names. */
  name: string;
  gguf: Uint8Array;
  tensors: RefTensor[];
}

function loadFixture(root: string, relativeGguf: string): Fixture {
  const gguf = new Uint8Array(readFileSync(root + relativeGguf));
  const ref = JSON.parse(readFileSync(root + relativeGguf.replace(/\.gguf$/, '.ref.json'), 'utf8')) as { tensors: RefTensor[] };
  return { name: relativeGguf, gguf, tensors: ref.tensors };
}

function typeId(refType: string): number {
  return GgmlType[refType.toUpperCase() as GgmlTypeName];
}

function elementCount(tensor: RefTensor): number {
  return tensor.ne.reduce((product, n) => product * n, 1);
}

function tensorBytes(fixture: Fixture, tensor: RefTensor): Uint8Array {
  return fixture.gguf.subarray(tensor.offset, tensor.offset + tensor.nbytes);
}

function dequantizeTensor(format: BlockFormat, fixture: Fixture, tensor: RefTensor): Float32Array {
  const count = elementCount(tensor);
  expect(tensor.nbytes).toBe((count / format.info.blockSize) * format.info.typeSize);
  const out = new Float32Array(count);
  format.dequantize(tensorBytes(fixture, tensor), 0, out, 0, count);
  return out;
}

function expectRelativeClose(actual: number, expected: number, what: string): void {
  const scale = Math.max(Math.abs(expected), Number.MIN_VALUE);
  expect(Math.abs(actual - expected) / scale, `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-6);
}

function expectMatchesLlamaStats(values: Float32Array, tensor: RefTensor): void {
  let sum = 0;
  let sumsq = 0;
  let maxabs = 0;
  for (const v of values) {
    sum += v;
    sumsq += v * v;
    maxabs = Math.max(maxabs, Math.abs(v));
  }
  expectRelativeClose(sum, tensor.sum, `${tensor.name} sum`);
  expectRelativeClose(sumsq, tensor.sumsq, `${tensor.name} sumsq`);
  expectRelativeClose(maxabs, tensor.maxabs, `${tensor.name} maxabs`);
  // The reference JSON prints -0 as 0 (no "-0" occurs in any ref.json), so zeros are compared
  // without their sign (x + 0 turns -0 into +0); every other value must be the identical float32.
  const unsignedZero = (v: number): number => v + 0;
  expect(Array.from(values.subarray(0, 8), unsignedZero)).toEqual(tensor.first8.map(Math.fround));
  expect(Array.from(values.subarray(values.length - 4), unsignedZero)).toEqual(tensor.last4.map(Math.fround));
}

/** All tensors of our formats in the given fixtures, as test cases. */
function ourTensors(fixtures: Fixture[]): Array<[string, Fixture, RefTensor]> {
  return fixtures.flatMap((fixture) =>
    fixture.tensors
      .filter((tensor) => formats.has(typeId(tensor.type)))
      .map((tensor): [string, Fixture, RefTensor] => [`${fixture.name} ${tensor.name} (${tensor.type})`, fixture, tensor]),
  );
}

describe('dequantization matches llama.cpp on the vendored fixtures', () => {
  const fixtures = ['synthetic/synthetic-Q4_K_M.gguf', 'synthetic/synthetic-Q2_K.gguf', 'synthetic/synthetic-IQ3_XS.gguf'].map((file) =>
    loadFixture(vendoredDir, file),
  );
  const cases = ourTensors(fixtures);

  it('covers Q2_K, Q3_K, Q4_K, Q6_K, IQ3_XXS and IQ3_S', () => {
    const seen = new Set(cases.map(([, , tensor]) => tensor.type.toUpperCase()));
    expect([...seen].sort()).toEqual(['IQ3_S', 'IQ3_XXS', 'Q2_K', 'Q3_K', 'Q4_K', 'Q6_K']);
  });

  it.each(cases)('%s', (_name, fixture, tensor) => {
    const format = formats.get(typeId(tensor.type))!;
    expectMatchesLlamaStats(dequantizeTensor(format, fixture, tensor), tensor);
  });
});

const sharedExists = existsSync(sharedDir);

function sharedFixtures(subdir: string): Fixture[] {
  if (!sharedExists) return [];
  return readdirSync(sharedDir + subdir)
    .filter((file) => file.endsWith('.gguf'))
    .sort()
    .map((file) => loadFixture(sharedDir, `${subdir}/${file}`));
}

describe.skipIf(!sharedExists)('conformance: dequantization of every shared synthetic/ and arch/ tensor', () => {
  const cases = ourTensors([...sharedFixtures('synthetic'), ...sharedFixtures('arch'), ...sharedFixtures('stories260K')]);

  it('covers all nine formats', () => {
    const seen = new Set(cases.map(([, , tensor]) => typeId(tensor.type)));
    expect([...seen].sort((a, b) => a - b)).toEqual([...formats.keys()].sort((a, b) => a - b));
  });

  it.each(cases)('%s', (_name, fixture, tensor) => {
    const format = formats.get(typeId(tensor.type))!;
    expectMatchesLlamaStats(dequantizeTensor(format, fixture, tensor), tensor);
  });
});

/**
 * Reference quantizers vs llama-quantize. synthetic-F32 holds the original weights; each quantized
 * file holds llama-quantize's (no imatrix) bytes of the same tensors. We quantize the F32 tensor to
 * the type the quantized file used and compare sha256 with llama.cpp's.
 */
describe.skipIf(!sharedExists)('conformance: reference quantizers are byte-identical to llama-quantize', () => {
  const quantizable = [q2KFormat, q3KFormat, q4KFormat, q5KFormat, q6KFormat];
  const cases: Array<[string, RefTensor, RefTensor]> = [];
  let source: Fixture | undefined;
  if (sharedExists) {
    source = loadFixture(sharedDir, 'synthetic/synthetic-F32.gguf');
    const byName = new Map(source.tensors.map((tensor) => [tensor.name, tensor]));
    for (const file of ['Q2_K', 'Q3_K_S', 'Q3_K_M', 'Q4_K_S', 'Q4_K_M', 'Q5_K_S', 'Q5_K_M', 'Q6_K']) {
      const quantized = loadFixture(sharedDir, `synthetic/synthetic-${file}.gguf`);
      for (const tensor of quantized.tensors) {
        if (!quantizable.some((format) => format.info.id === typeId(tensor.type))) continue;
        cases.push([`synthetic-${file} ${tensor.name} (${tensor.type})`, byName.get(tensor.name)!, tensor]);
      }
    }
  }

  it('covers every k-quant quantizer', () => {
    const seen = new Set(cases.map(([, , tensor]) => typeId(tensor.type)));
    expect([...seen].sort((a, b) => a - b)).toEqual(quantizable.map((format) => format.info.id).sort((a, b) => a - b));
  });

  it.each(cases)('%s', (_name, f32Tensor, llamaTensor) => {
    const format = formats.get(typeId(llamaTensor.type))!;
    const bytes = tensorBytes(source!, f32Tensor);
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const out = new Uint8Array(llamaTensor.nbytes);
    format.quantize!(values, 0, out, 0, values.length);
    expect(createHash('sha256').update(out).digest('hex')).toBe(llamaTensor.sha256);
  });
});
