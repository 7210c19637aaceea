/**
 * The registry against llama.cpp's own bytes and numbers (fixtures/README.md, shared README §5-6).
 *
 * 1. Dequantization: every tensor of every fixture GGUF, for every type the registry supports, must
 *    reproduce ggml's `to_float` statistics: sum/sumsq/maxabs to a relative 1e-6 (our sums in
 *    float64), first8/last4 exactly as float32. Types without an implementation are reported as
 *    skipped tests. The raw bytes' sha256 is checked first, so a wrong offset cannot pass.
 * 2. Quantizer byte identity: the F32 tensors of `<model>-F32.gguf`, quantized by our reference
 *    quantizers to the type each tensor has in `<model>-<TYPE>.ref.json`, must hash to that file's
 *    sha256 (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1; other types are the k-quant suite's).
 *
 * Default suite: the repository's vendored `fixtures/`. Conformance suite: all of
 * `../shared/fixtures` when it exists.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dequantize, isSupportedGgmlType, quantize } from './format-registry.js';
import { GgmlType, type GgmlTypeId } from './ggml-type.js';
import {
  elementCount,
  f32Values,
  listRefFixtures,
  quantizerFixturePairs,
  readRefTensors,
  sha256,
  sharedFixturesDir,
  tensorBytes,
  tensorStats,
  typeIdOfRefName,
  vendoredFixturesDir,
  type QuantizerFixturePair,
  type RefFixture,
  type RefTensor,
} from './test-support/reference-fixtures.js';

const STAT_TOLERANCE = 1e-6;
const OUR_QUANTIZERS = new Set<GgmlTypeId>([GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1]);

function expectStatsMatch(where: string, reference: RefTensor, values: Float32Array): void {
  const ours = tensorStats(values);
  for (const key of ['sum', 'sumsq', 'maxabs'] as const) {
    const error = Math.abs(ours[key] - reference[key]);
    if (error > STAT_TOLERANCE * Math.abs(reference[key])) {
      throw new Error(`${where}: ${key} ${ours[key]} vs llama.cpp ${reference[key]} (relative ${error / Math.abs(reference[key])})`);
    }
  }
  const exact = (ourValues: number[], theirs: readonly number[], field: string): void => {
    theirs.forEach((value, i) => {
      if (!Object.is(ourValues[i], Math.fround(value)) && !(ourValues[i] === 0 && value === 0)) {
        throw new Error(`${where}: ${field}[${i}] ${ourValues[i]} vs llama.cpp ${value}`);
      }
    });
  };
  exact(ours.first8, reference.first8, 'first8');
  exact(ours.last4, reference.last4, 'last4');
}

/** One test per tensor type of the fixture; types the registry cannot dequantize are skipped. */
function describeDequantization(fixture: RefFixture): void {
  const ggufPath = fixture.ggufPath;
  if (ggufPath === undefined) return;
  const byType = new Map<string, RefTensor[]>();
  for (const tensor of readRefTensors(fixture.refPath)) byType.set(tensor.type, [...(byType.get(tensor.type) ?? []), tensor]);
  let gguf: Uint8Array | undefined;
  const fileBytes = (): Uint8Array => (gguf ??= new Uint8Array(readFileSync(ggufPath)));
  describe(fixture.id, () => {
    for (const [typeName, tensors] of byType) {
      const type = typeIdOfRefName(typeName);
      it.skipIf(!isSupportedGgmlType(type))(`dequantizes ${tensors.length} ${typeName} tensor(s) like ggml`, () => {
        for (const tensor of tensors) {
          const where = `${fixture.id} ${tensor.name} (${typeName})`;
          const bytes = tensorBytes(fileBytes(), tensor);
          expect(sha256(bytes), `${where} raw bytes`).toBe(tensor.sha256);
          expectStatsMatch(where, tensor, dequantize(type, bytes, elementCount(tensor)));
        }
      });
    }
  });
}

/**
 * Quantizes the source's F32 tensors to each target tensor's type (where we own the quantizer)
 * and compares hashes. Returns how many tensors were compared, per type.
 */
function checkQuantizerIdentity({ source, target }: QuantizerFixturePair): Map<string, number> {
  const sourceTensors = new Map(readRefTensors(source.refPath).map((tensor) => [tensor.name, tensor]));
  const gguf = new Uint8Array(readFileSync(source.ggufPath!));
  const compared = new Map<string, number>();
  for (const tensor of readRefTensors(target.refPath)) {
    const type = typeIdOfRefName(tensor.type);
    if (!OUR_QUANTIZERS.has(type)) continue;
    const original = sourceTensors.get(tensor.name);
    if (original === undefined || original.type !== 'f32') throw new Error(`${source.id} has no F32 tensor ${tensor.name}`);
    const ours = sha256(quantize(type, f32Values(tensorBytes(gguf, original))));
    if (ours !== tensor.sha256) throw new Error(`${target.id} ${tensor.name}: our ${tensor.type} bytes differ from llama.cpp's`);
    compared.set(tensor.type, (compared.get(tensor.type) ?? 0) + 1);
  }
  return compared;
}

describe('vendored fixtures: dequantization statistics', () => {
  const fixtures = listRefFixtures(vendoredFixturesDir);
  it('finds the vendored fixtures', () => {
    expect(fixtures.filter((fixture) => fixture.ggufPath !== undefined).length).toBeGreaterThanOrEqual(5);
  });
  for (const fixture of fixtures) describeDequantization(fixture);
});

describe('vendored fixtures: quantizers byte-identical to llama.cpp (stories260K-F32 -> 7 types)', () => {
  const cases = quantizerFixturePairs(vendoredFixturesDir);
  const targets = ['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'F16', 'BF16'];
  for (const targetType of targets) {
    it(`${targetType}: every 2-D tensor whose rows are whole blocks, plus the F16/F32 fallbacks`, () => {
      const testCase = cases.find((c) => c.target.id === `stories260K/stories260K-${targetType}`);
      expect(testCase, `stories260K-${targetType}.ref.json is vendored`).toBeDefined();
      const compared = checkQuantizerIdentity(testCase!);
      // Guard against comparing nothing: the target type must cover exactly the 2-D tensors whose
      // row length is a whole number of its blocks (all 2-D tensors for F16/BF16).
      const blockSize = targetType.startsWith('Q') ? 32 : 1;
      const expected = readRefTensors(testCase!.source.refPath).filter((t) => t.ne.length === 2 && t.ne[0]! % blockSize === 0).length;
      expect(compared.get(targetType.toLowerCase())).toBe(expected);
      expect(expected).toBeGreaterThan(0);
    });
  }
});

const sharedFixtures = listRefFixtures(sharedFixturesDir);

describe.skipIf(sharedFixtures.length === 0)('conformance (../shared/fixtures): dequantization statistics', () => {
  for (const fixture of sharedFixtures) describeDequantization(fixture);
});

describe.skipIf(sharedFixtures.length === 0)('conformance (../shared/fixtures): quantizers byte-identical to llama.cpp', () => {
  for (const testCase of quantizerFixturePairs(sharedFixturesDir)) {
    it(`${testCase.source.id} -> ${testCase.target.id}`, () => {
      const compared = checkQuantizerIdentity(testCase);
      const total = [...compared.values()].reduce((a, b) => a + b, 0);
      // Every target keeps at least its 1-D norms in F32, so something is always compared.
      expect(total).toBeGreaterThan(0);
    });
  }
});
