/**
 * Differential parity of every supported family on the committed random-weight files (fixtures/families/):
 * llama.cpp's outputs were recorded by `pnpm conformance` (scripts/families.ts), so default CI checks each
 * family without llama.cpp. Same comparison and tolerances as the harness.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { architectureByName, supportedArchitectures } from '@smallmind/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { committedFamilyFixtures, compareFamilyPrompt, familyTolerance, loadForComparison } from '../../scripts/families.js';

describe('differential parity with llama.cpp: random-weight files of every family', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'smallmind-families-test-'));
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));
  const fixtures = committedFamilyFixtures();

  it('has an F32 and a Q8_0 file for every supported architecture', () => {
    // Encoders (no logits) are checked by embeddings.test.ts.
    for (const architecture of supportedArchitectures().filter((a) => architectureByName(a).embeddingOnly !== true)) {
      const types = fixtures.filter((f) => f.fixture.architecture === architecture).map((f) => f.fixture.type);
      expect(types, architecture).toContain('F32');
      expect(types, architecture).toContain('Q8_0');
    }
  });

  for (const { stem, gguf, fixture } of fixtures) {
    it(`${stem}: tokens, last logits and greedy tokens match llama.cpp`, async () => {
      const model = await loadForComparison(gguf, workDir, stem);
      try {
        expect(model.config.architecture).toBe(fixture.architecture);
        fixture.prompts.forEach((prompt, i) => {
          const reference = fixture.f32_kv[i]!;
          const result = compareFamilyPrompt(model, prompt, reference, familyTolerance(fixture.gelu, fixture.type !== 'F32', reference));
          const where = `${stem} prompt ${i + 1}`;
          expect(result.tokensMatch, `${where}: tokens`).toBe(true);
          expect(result.maxDiff, `${where}: max |logit diff|`).toBeLessThanOrEqual(result.tolerance);
          expect(result.agreed, `${where}: greedy agreement`).toBeGreaterThanOrEqual(result.required);
        });
      } finally {
        await model.dispose();
      }
    });
  }
});
