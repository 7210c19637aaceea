import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@smallmind/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmqReader } from '@smallmind/io-smq';
import { EngineError, SmallMindEngine, type LoadProgress } from './index.js';

const fixtures = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const storiesGguf = join(fixtures, 'stories260K/stories260K-F32.gguf');
const storiesRef = JSON.parse(readFileSync(join(fixtures, 'stories260K/stories260K-F32.ref.json'), 'utf8')) as {
  prompts: Array<{ prompt: string; greedy_tokens: number[]; greedy_text: string }>;
};

describe('SmallMindEngine', () => {
  let cacheDir: string;
  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'smallmind-engine-'));
  });
  afterAll(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('loads a GGUF file through the import cache and continues "Once upon a time" as llama.cpp does', async () => {
    const engine = new SmallMindEngine({ cacheDir, logger: silentLogger });
    try {
      const first = await engine.loadModel({ path: storiesGguf });
      expect(first.imported).toBe(true);
      expect(first.architecture).toBe('llama');
      expect(existsSync(first.smqPath)).toBe(true);
      const reference = storiesRef.prompts[0]!;
      expect(reference.prompt).toBe('Once upon a time');
      const streamed: string[] = [];
      const result = await engine.generate(reference.prompt, { maxTokens: reference.greedy_tokens.length, onText: (t) => streamed.push(t) });
      expect(result.tokens).toEqual(reference.greedy_tokens);
      expect(reference.greedy_text.startsWith(result.text) || result.text === reference.greedy_text).toBe(true);
      expect(streamed.join('')).toBe(result.text);
      expect(result.finishReason).toBe('length');

      // The second load of the same file is a cache hit: same SMQ path, no new import.
      const second = await engine.loadModel({ path: storiesGguf });
      expect(second.imported).toBe(false);
      expect(second.smqPath).toBe(first.smqPath);
      expect((await readdir(cacheDir)).filter((f) => f.endsWith('.smq'))).toHaveLength(1);

      // An SMQ path loads directly.
      const direct = await engine.loadModel({ path: first.smqPath });
      expect(direct.imported).toBe(false);
      const again = await engine.generate(reference.prompt, { maxTokens: 8 });
      expect(again.tokens).toEqual(reference.greedy_tokens.slice(0, 8));
    } finally {
      await engine.dispose();
    }
  });

  it('stops at the context window with finishReason "length" and rejects a prompt that does not fit', async () => {
    const engine = new SmallMindEngine({ cacheDir, logger: silentLogger });
    try {
      await engine.loadModel({ path: storiesGguf, contextLength: 8 });
      const result = await engine.generate('Once upon a time', { maxTokens: 100 });
      expect(result.promptTokens).toBe(5);
      expect(result.tokens).toHaveLength(4); // 3 fed back + the last sampled one
      expect(result.finishReason).toBe('length');
      await expect(engine.generate('Once upon a time there was a little girl named Lily', { maxTokens: 1 })).rejects.toMatchObject({
        code: 'PROMPT_TOO_LONG',
      });
    } finally {
      await engine.dispose();
    }
  });

  it('reports load progress tensor by tensor, ending at the total of the file\'s tensors', async () => {
    const engine = new SmallMindEngine({ cacheDir, logger: silentLogger });
    try {
      const progress: LoadProgress[] = [];
      const info = await engine.loadModel({ path: storiesGguf, onLoadProgress: (p) => progress.push(p) });
      const reader = await SmqReader.open(info.smqPath);
      const matrices = reader.tensors; // every tensor counts: matrices and norm vectors alike
      await reader.close();
      expect(matrices.some((t) => t.shape.length === 1)).toBe(true);
      expect(progress).toHaveLength(matrices.length);
      expect(progress.map((p) => p.tensorsDone)).toEqual(matrices.map((_, i) => i + 1));
      expect(progress.every((p, i) => i === 0 || p.bytesDone > progress[i - 1]!.bytesDone)).toBe(true);
      expect(progress.at(-1)).toEqual({
        bytesDone: matrices.reduce((sum, t) => sum + t.byteLength, 0),
        bytesTotal: matrices.reduce((sum, t) => sum + t.byteLength, 0),
        tensorsDone: matrices.length,
        tensorsTotal: matrices.length,
      });
    } finally {
      await engine.dispose();
    }
  });

  it('gives typed errors for bad paths, bad options and generate before load', async () => {
    const engine = new SmallMindEngine({ cacheDir, logger: silentLogger });
    await expect(engine.generate('x')).rejects.toBeInstanceOf(EngineError);
    await expect(engine.generate('x')).rejects.toMatchObject({ code: 'NO_MODEL_LOADED' });
    await expect(engine.loadModel({ path: join(cacheDir, 'model.bin') })).rejects.toMatchObject({ code: 'UNSUPPORTED_MODEL_FILE', field: 'path' });
    await expect(engine.loadModel({ path: join(cacheDir, 'missing.gguf') })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    const garbage = join(cacheDir, 'garbage.gguf');
    await writeFile(garbage, 'this is not a gguf file');
    await expect(engine.loadModel({ path: garbage })).rejects.toMatchObject({ name: 'GgufFormatError' });
    await engine.loadModel({ path: storiesGguf });
    await expect(engine.generate('x', { maxTokens: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTION', field: 'maxTokens' });
    await engine.dispose();
  });
});
