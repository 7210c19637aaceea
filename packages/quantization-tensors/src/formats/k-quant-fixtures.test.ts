/**
 * k-quant reference quantizers against llama-quantize (conformance suite: needs ../shared/fixtures).
 *
 * synthetic-F32.gguf holds the original weights; each synthetic-<mix>.gguf holds llama-quantize's
 * bytes (no importance matrix) of the same tensors. We quantize every F32 tensor to the type it
 * has in the quantized file and require the sha256 of llama.cpp's bytes.
 *
 * Dequantization of every k-quant/IQ tensor against ggml's statistics is covered, for all fixtures,
 * by the registry-wide walk in ../reference-fixtures.test.ts (it runs through these formats).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GgmlType } from '../ggml-type.js';
import {
  f32Values,
  listRefFixtures,
  readRefTensors,
  sha256,
  sharedFixturesDir,
  tensorBytes,
  typeIdOfRefName,
  type RefTensor,
} from '../test-support/reference-fixtures.js';
import { q2KFormat } from './q2_k.js';
import { q3KFormat } from './q3_k.js';
import { q4KFormat } from './q4_k.js';
import { q5KFormat } from './q5_k.js';
import { q6KFormat } from './q6_k.js';

const quantizers = new Map([q2KFormat, q3KFormat, q4KFormat, q5KFormat, q6KFormat].map((format) => [format.info.id, format]));
const fixtures = listRefFixtures(sharedFixturesDir);
const source = fixtures.find((fixture) => fixture.id === 'synthetic/synthetic-F32');

describe.skipIf(source === undefined)('conformance: k-quant quantizers are byte-identical to llama-quantize', () => {
  const cases: Array<[string, RefTensor, RefTensor]> = [];
  if (source !== undefined) {
    const originals = new Map(readRefTensors(source.refPath).map((tensor) => [tensor.name, tensor]));
    for (const target of fixtures) {
      if (!target.id.startsWith('synthetic/synthetic-')) continue;
      for (const tensor of readRefTensors(target.refPath)) {
        if (!quantizers.has(typeIdOfRefName(tensor.type))) continue;
        cases.push([`${target.id} ${tensor.name} (${tensor.type})`, originals.get(tensor.name)!, tensor]);
      }
    }
  }
  let gguf: Uint8Array | undefined;
  const sourceBytes = (): Uint8Array => (gguf ??= new Uint8Array(readFileSync(source!.ggufPath!)));

  it('covers all five k-quant quantizers', () => {
    const covered = new Set(cases.map(([, , tensor]) => typeIdOfRefName(tensor.type)));
    expect([...covered].sort((a, b) => a - b)).toEqual([GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K]);
  });

  it.each(cases)('%s', (_name, original, llamaTensor) => {
    const format = quantizers.get(typeIdOfRefName(llamaTensor.type))!;
    const values = f32Values(tensorBytes(sourceBytes(), original));
    const ours = new Uint8Array(llamaTensor.nbytes);
    format.quantize!(values, 0, ours, 0, values.length);
    expect(sha256(ours)).toBe(llamaTensor.sha256);
  });
});
