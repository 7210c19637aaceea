/** SmallMindEngine.embed through the inference worker, on the committed embedding fixtures. */
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cosineSimilarity, silentLogger } from '@smallmind/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddingFixture } from '../scripts/embeddings-diff.js';
import { SmallMindEngine } from './engine.js';

const fixtures = fileURLToPath(new URL('../../../fixtures/embeddings/', import.meta.url));
const fixture = (stem: string): EmbeddingFixture => JSON.parse(readFileSync(join(fixtures, `${stem}.nlc.json`), 'utf8')) as EmbeddingFixture;

describe('SmallMindEngine.embed', () => {
  let cacheDir: string;
  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'smallmind-embed-'));
  });
  afterAll(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('bert: reports the embedding facts and embeds texts as llama.cpp does', async () => {
    const engine = new SmallMindEngine({ cacheDir, logger: silentLogger, threads: 1 });
    try {
      const info = await engine.loadModel({ path: join(fixtures, 'bert-cls-Q8_0.gguf') });
      const { texts } = fixture('bert-cls-Q8_0');
      expect(info.embedding).toEqual({ length: texts[0]!.embedding.length, pooling: 'cls', only: true });
      const raw = await engine.embed(texts.map((t) => t.text), { normalize: false });
      expect(raw.pooling).toBe('cls');
      expect(raw.tokens).toEqual(texts.map((t) => t.tokens.length));
      expect(raw.promptTokens).toBe(texts.reduce((sum, t) => sum + t.tokens.length, 0));
      texts.forEach((t, i) => {
        expect(cosineSimilarity(raw.embeddings[i]!, t.embedding), t.text).toBeGreaterThan(0.9999);
        // Not normalised: llama.cpp's raw pooled vector, to its float noise (see conformance/embeddings.test.ts).
        expect(Math.max(...t.embedding.map((v, c) => Math.abs(v - raw.embeddings[i]![c]!)))).toBeLessThan(1e-3);
      });
      const single = await engine.embed(texts[0]!.text);
      expect(single.embeddings).toHaveLength(1);
      expect(Math.hypot(...single.embeddings[0]!)).toBeCloseTo(1, 5);
      const mean = await engine.embed(texts[0]!.tokens, { pooling: 'mean' });
      expect(mean.pooling).toBe('mean');
      expect(cosineSimilarity(mean.embeddings[0]!, single.embeddings[0]!)).toBeLessThan(0.9999);
      await expect(engine.embed([])).rejects.toMatchObject({ code: 'INVALID_OPTION' });
      const long = 'hello '.repeat(100);
      await expect(engine.embed(long)).rejects.toMatchObject({ code: 'CONTEXT_OVERFLOW' });
      await expect(engine.embed(long, { truncate: true })).resolves.toMatchObject({ tokens: [info.trainedContextLength] });
    } finally {
      await engine.dispose();
    }
  });

  it('a decoder with a pooling type embeds; without one it needs pooling named', async () => {
    const engine = new SmallMindEngine({ cacheDir, logger: silentLogger, threads: 1 });
    try {
      const info = await engine.loadModel({ path: join(fixtures, 'llama-last-Q8_0.gguf') });
      expect(info.embedding).toMatchObject({ pooling: 'last', only: false });
      const { texts } = fixture('llama-last-Q8_0');
      const result = await engine.embed(texts.map((t) => t.text), { normalize: false });
      texts.forEach((t, i) => expect(cosineSimilarity(result.embeddings[i]!, t.embedding)).toBeGreaterThan(0.9999));
      await engine.loadModel({ path: fileURLToPath(new URL('../../../fixtures/stories260K/stories260K-F32.gguf', import.meta.url)) });
      expect(engine.model?.embedding.pooling).toBeUndefined();
      await expect(engine.embed('Once upon a time')).rejects.toMatchObject({ code: 'INVALID_OPTION', field: 'pooling' });
      expect((await engine.embed('Once upon a time', { pooling: 'mean' })).embeddings[0]).toHaveLength(64);
    } finally {
      await engine.dispose();
    }
  });
});
