/**
 * Embeddings against llama.cpp on the committed random-weight files (fixtures/embeddings/): node-llama-cpp
 * 3.21.1's vectors were recorded by `pnpm conformance:embeddings` (scripts/embeddings-diff.ts), so default CI
 * checks bert and decoder pooling without node-llama-cpp: same tokens, cosine > 0.9999 per text.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { committedEmbeddingFixtures, compareEmbedding } from '../../scripts/embeddings-diff.js';
import { loadForComparison } from '../../scripts/families.js';

describe('embeddings match node-llama-cpp 3.21.1 on random-weight files', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'smallmind-embeddings-test-'));
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));
  const fixtures = committedEmbeddingFixtures();

  it('covers bert (mean, cls), nomic-bert and a decoder (mean, last), F32 and Q8_0', () => {
    const seen = new Set(fixtures.map((f) => `${f.fixture.architecture}/${f.fixture.pooling}/${f.fixture.type}`));
    for (const key of ['bert/mean/F32', 'bert/mean/Q8_0', 'bert/cls/Q8_0', 'nomic-bert/mean/F32', 'nomic-bert/mean/Q8_0', 'llama/mean/F32', 'llama/mean/Q8_0', 'llama/last/Q8_0']) expect(seen, key).toContain(key);
  });

  for (const { stem, gguf, fixture } of fixtures) {
    it(`${stem}: tokens and ${fixture.pooling}-pooled vectors`, async () => {
      const model = await loadForComparison(gguf, workDir, stem);
      try {
        expect(model.config.architecture).toBe(fixture.architecture);
        expect(model.embedPooling).toBe(fixture.pooling);
        for (const recorded of fixture.texts) {
          const result = compareEmbedding(model, recorded);
          expect(result.tokensMatch, `${stem} "${recorded.text}": tokens`).toBe(true);
          expect(result.cosine, `${stem} "${recorded.text}": cosine`).toBeGreaterThan(0.9999);
          // Float noise, except where a last-bit difference of a GELU input crosses an fp16 rounding boundary of
          // llama.cpp's GELU table (one fp16 step, ~1e-3 relative): measured 1.5e-4 at most (docs/embeddings.md).
          expect(result.maxAbsDiff, `${stem} "${recorded.text}": max |diff|`).toBeLessThan(1e-3);
        }
      } finally {
        await model.dispose();
      }
    });
  }
});
