import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { readGguf } from './index.js';
import { diffAgainstHuggingFace, diffAgainstRef } from './test-support/compare.js';
import { REPO_FIXTURES, SHARED_FIXTURES, hasSharedFixtures, listGgufFixtures, materialise, readRef, scratchDir, sha256 } from './test-support/fixtures.js';
import type { GgufFixture } from './test-support/fixtures.js';

interface VocabIndexEntry {
  readonly path: string;
  readonly gguf_sha256: string;
}

function vocabShas(root: string): Map<string, string> {
  try {
    const index = JSON.parse(readFileSync(`${root}/index.json`, 'utf8')) as { vocab: VocabIndexEntry[] };
    return new Map(index.vocab.map((v) => [v.path, v.gguf_sha256]));
  } catch {
    return new Map();
  }
}

function fixtureSuite(root: string, fixtures: readonly GgufFixture[]): void {
  const scratch = scratchDir();
  afterAll(() => scratch.cleanup());
  const shas = vocabShas(root);

  it('finds fixtures', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });

  for (const fixture of fixtures) {
    it(`${fixture.name}: header equals NAME.ref.json and @huggingface/gguf; tensor bytes match their sha256`, async () => {
      const path = materialise(fixture, scratch.dir);
      const expectedSha = shas.get(fixture.name);
      if (expectedSha !== undefined) expect(sha256(readFileSync(path))).toBe(expectedSha);
      const file = await readGguf(path);
      try {
        expect(await diffAgainstHuggingFace(file, path)).toEqual([]);
        const ref = readRef(fixture);
        if (ref !== undefined) {
          expect(file.fileSize).toBe(ref.size_bytes);
          expect(diffAgainstRef(file, ref)).toEqual([]);
          for (const t of ref.tensors) expect(sha256(await file.readTensorData(t.name)), t.name).toBe(t.sha256);
        } else {
          expect(file.metadata.size).toBeGreaterThan(0);
        }
      } finally {
        await file.close();
      }
    });
  }
}

describe('reader on the vendored fixtures', () => {
  fixtureSuite(REPO_FIXTURES, listGgufFixtures(REPO_FIXTURES));
});

describe.skipIf(!hasSharedFixtures)('reader conformance on ../shared/fixtures', () => {
  fixtureSuite(SHARED_FIXTURES, listGgufFixtures(SHARED_FIXTURES));
});
