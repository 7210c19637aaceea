import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cosineSimilarity } from '@smallmind/runtime';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EmbeddingFixture } from '../scripts/embeddings-diff.js';
import { embedCommand } from './cli-embed.js';
import { Output } from './cli-shared.js';

const fixtures = fileURLToPath(new URL('../../../fixtures/embeddings/', import.meta.url));

describe('smallmind embed', () => {
  let cacheDir: string;
  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'smallmind-cli-embed-'));
  });
  afterAll(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('prints one JSON object with a vector per text, raw with --no-normalize', async () => {
    const { texts } = JSON.parse(readFileSync(join(fixtures, 'nomic-bert-mean-Q8_0.nlc.json'), 'utf8')) as EmbeddingFixture;
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const flags = { kernels: 'wasm' as const, preserveQuantization: true, cacheDir, threads: 1, normalize: false };
      await embedCommand(new Output({ quiet: true }), join(fixtures, 'nomic-bert-mean-Q8_0.gguf'), texts.slice(0, 2).map((t) => t.text), flags);
    } finally {
      write.mockRestore();
    }
    expect(lines).toHaveLength(1);
    const printed = JSON.parse(lines[0]!) as { architecture: string; pooling: string; dimensions: number; promptTokens: number; embeddings: Array<{ text: string; tokens: number; embedding: number[] }> };
    expect(printed).toMatchObject({ architecture: 'nomic-bert', pooling: 'mean', dimensions: texts[0]!.embedding.length });
    expect(printed.promptTokens).toBe(texts[0]!.tokens.length + texts[1]!.tokens.length);
    printed.embeddings.forEach((e, i) => {
      expect(e.text).toBe(texts[i]!.text);
      expect(e.tokens).toBe(texts[i]!.tokens.length);
      expect(cosineSimilarity(e.embedding, texts[i]!.embedding)).toBeGreaterThan(0.9999);
    });
  });
});
