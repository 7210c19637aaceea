/**
 * k-quant and IQ4 quantizers against llama-quantize.
 *
 * `<model>-F32.gguf` holds the original weights; every other fixture of the same model holds
 * llama-quantize's bytes (no importance matrix) of the same tensors. We quantize each F32 tensor to
 * the type it has there and require the sha256 of llama.cpp's bytes.
 *
 * Default suite: the vendored stories260K-Q2_K-fallback (31 IQ4_NL tensors). Conformance suite
 * (../shared/fixtures): every synthetic and stories260K file, i.e. all five k-quants, IQ4_NL, IQ4_XS.
 *
 * Dequantization of every k-quant/IQ tensor against ggml's statistics is covered, for all fixtures,
 * by the registry-wide walk in ../reference-fixtures.test.ts (it runs through these formats).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BlockFormat } from '../block-format.js';
import { GgmlType } from '../ggml-type.js';
import { quantizeWith } from '../test-support/block-formats.js';
import {
  f32Values,
  quantizerFixturePairs,
  readRefTensors,
  sha256,
  sharedFixturesDir,
  tensorBytes,
  typeIdOfRefName,
  vendoredFixturesDir,
  type RefFixture,
  type RefTensor,
} from '../test-support/reference-fixtures.js';
import { iq4_nlFormat } from './iq4_nl.js';
import { iq4_xsFormat } from './iq4_xs.js';
import { q2_kFormat } from './q2_k.js';
import { q3_kFormat } from './q3_k.js';
import { q4_kFormat } from './q4_k.js';
import { q5_kFormat } from './q5_k.js';
import { q6_kFormat } from './q6_k.js';

const quantizers = new Map<number, BlockFormat>(
  [q2_kFormat, q3_kFormat, q4_kFormat, q5_kFormat, q6_kFormat, iq4_nlFormat, iq4_xsFormat].map((format) => [format.info.id, format]),
);

type Case = [name: string, source: RefFixture, original: RefTensor, llamaTensor: RefTensor];

/** Every tensor of our quantizer types in the fixtures of `root`, paired with its F32 original. */
function quantizerCases(root: string): Case[] {
  const cases: Case[] = [];
  for (const { source, target } of quantizerFixturePairs(root)) {
    const originals = new Map(readRefTensors(source.refPath).map((tensor) => [tensor.name, tensor]));
    for (const tensor of readRefTensors(target.refPath)) {
      if (quantizers.has(typeIdOfRefName(tensor.type))) cases.push([`${target.id} ${tensor.name} (${tensor.type})`, source, originals.get(tensor.name)!, tensor]);
    }
  }
  return cases;
}

const sourceBytes = new Map<string, Uint8Array>();

function expectByteIdentical(source: RefFixture, original: RefTensor, llamaTensor: RefTensor): void {
  let gguf = sourceBytes.get(source.id);
  if (gguf === undefined) sourceBytes.set(source.id, (gguf = new Uint8Array(readFileSync(source.ggufPath!))));
  const format = quantizers.get(typeIdOfRefName(llamaTensor.type))!;
  const ours = quantizeWith(format, f32Values(tensorBytes(gguf, original)));
  expect(ours.length).toBe(llamaTensor.nbytes);
  expect(sha256(ours)).toBe(llamaTensor.sha256);
}

function coveredTypes(cases: Case[]): number[] {
  return [...new Set(cases.map(([, , , tensor]) => typeIdOfRefName(tensor.type)))].sort((a, b) => a - b);
}

describe('vendored: IQ4_NL, Q4_K and Q6_K quantizers are byte-identical to llama-quantize (stories260K fallbacks, arch/qwen3)', () => {
  const cases = quantizerCases(vendoredFixturesDir);

  it('finds the 31 IQ4_NL tensors of stories260K-Q2_K-fallback and the Q4_K/Q6_K tensors of arch/qwen3-Q4_K_M', () => {
    const stories = cases.filter(([name]) => name.includes('stories260K'));
    expect(coveredTypes(stories)).toEqual([GgmlType.IQ4_NL]);
    expect(stories.length).toBe(31);
    const qwen3 = cases.filter(([name]) => name.includes('qwen3'));
    expect(coveredTypes(qwen3)).toEqual([GgmlType.Q4_K, GgmlType.Q6_K]);
    expect(stories.length + qwen3.length).toBe(cases.length);
  });

  it.each(cases)('%s', (_name, source, original, llamaTensor) => expectByteIdentical(source, original, llamaTensor));
});

const sharedCases = quantizerCases(sharedFixturesDir);

describe.skipIf(sharedCases.length === 0)('conformance: k-quant and IQ4 quantizers are byte-identical to llama-quantize', () => {
  it('covers all seven quantizers', () => {
    expect(coveredTypes(sharedCases)).toEqual([...quantizers.keys()].sort((a, b) => a - b));
  });

  it.each(sharedCases)('%s', (_name, source, original, llamaTensor) => expectByteIdentical(source, original, llamaTensor));
});
