/**
 * `POST /v1/embeddings` through the official `openai` client: a bert model (fixtures/embeddings, whose
 * vectors node-llama-cpp recorded) and stories260K, a decoder without a pooling type.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { cosineSimilarity } from '@smallmind/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddingFixture } from '../../scripts/embeddings-diff.js';
import { post, startTestServer, storiesGguf, storiesModel } from './test-support.js';

const fixtures = fileURLToPath(new URL('../../../../fixtures/embeddings/', import.meta.url));
const bertGguf = `${fixtures}bert-mean-F32.gguf`;
const recorded = (JSON.parse(readFileSync(`${fixtures}bert-mean-F32.nlc.json`, 'utf8')) as EmbeddingFixture).texts;

describe('/v1/embeddings', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let client: OpenAI;

  beforeAll(async () => {
    server = await startTestServer({ models: [{ path: bertGguf, name: 'bert' }, storiesGguf] });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });
  });
  afterAll(() => server.cleanup());

  it('embeds one text as llama.cpp does, normalised, with usage', async () => {
    const reference = recorded[1]!;
    const response = await client.embeddings.create({ model: 'bert', input: reference.text });
    expect(response.object).toBe('list');
    expect(response.model).toBe('bert');
    expect(response.data).toHaveLength(1);
    const vector = response.data[0]!.embedding;
    expect(vector).toHaveLength(reference.embedding.length);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    expect(cosineSimilarity(vector, reference.embedding)).toBeGreaterThan(0.9999);
    expect(response.usage).toEqual({ prompt_tokens: reference.tokens.length, total_tokens: reference.tokens.length });
  });

  it('embeds a batch in order, as floats or base64 alike', async () => {
    const input = recorded.map((r) => r.text);
    const floats = await client.embeddings.create({ model: 'bert', input, encoding_format: 'float' });
    const base64 = await client.embeddings.create({ model: 'bert', input, encoding_format: 'base64' });
    expect(floats.data.map((d) => d.index)).toEqual(input.map((_, i) => i));
    recorded.forEach((r, i) => {
      expect(cosineSimilarity(floats.data[i]!.embedding, r.embedding), r.text).toBeGreaterThan(0.9999);
      // The openai client decodes base64 into floats itself; base64 carries float32 exactly.
      expect(typeof floats.data[i]!.embedding[0]).toBe('number');
    });
    const raw = await post(`${server.url}/v1/embeddings`, { model: 'bert', input: input[0], encoding_format: 'base64' });
    const bytes = Buffer.from(raw.json.data[0].embedding as string, 'base64');
    const decoded = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
    expect(decoded).toEqual(floats.data[0]!.embedding.map(Math.fround));
    expect(base64.usage.prompt_tokens).toBe(recorded.reduce((sum, r) => sum + r.tokens.length, 0));
  });

  it('takes token ids, one array or several', async () => {
    const one = await client.embeddings.create({ model: 'bert', input: recorded[0]!.tokens });
    expect(cosineSimilarity(one.data[0]!.embedding, recorded[0]!.embedding)).toBeGreaterThan(0.9999);
    const two = await client.embeddings.create({ model: 'bert', input: [recorded[0]!.tokens, recorded[2]!.tokens] });
    expect(cosineSimilarity(two.data[1]!.embedding, recorded[2]!.embedding)).toBeGreaterThan(0.9999);
    expect(two.usage.prompt_tokens).toBe(recorded[0]!.tokens.length + recorded[2]!.tokens.length);
  });

  it('accepts dimensions equal to the width and refuses others', async () => {
    const width = recorded[0]!.embedding.length;
    await expect(client.embeddings.create({ model: 'bert', input: 'hello', dimensions: width })).resolves.toMatchObject({ object: 'list' });
    const bad = await post(`${server.url}/v1/embeddings`, { model: 'bert', input: 'hello', dimensions: width - 1 });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ type: 'invalid_request_error', param: 'dimensions', code: 'invalid_value' });
  });

  it('400s: a model without a pooling type, too long an input, a bad token id, a malformed input', async () => {
    const decoder = await post(`${server.url}/v1/embeddings`, { model: storiesModel, input: 'Once upon a time' });
    expect(decoder.status).toBe(400);
    expect(decoder.json.error).toMatchObject({ param: 'model', code: 'embeddings_not_supported' });
    expect(decoder.json.error.message).toContain('llama.pooling_type');
    const long = await post(`${server.url}/v1/embeddings`, { model: 'bert', input: 'hello '.repeat(100) });
    expect(long.status).toBe(400);
    expect(long.json.error).toMatchObject({ param: 'input', code: 'context_length_exceeded' });
    const token = await post(`${server.url}/v1/embeddings`, { model: 'bert', input: [[101, 5], [101, 999999]] });
    expect(token.status).toBe(400);
    expect(token.json.error).toMatchObject({ param: 'input[1][1]', code: 'token_out_of_range' });
    for (const input of [[], [1, 'a'], 5, [[]]]) {
      const malformed = await post(`${server.url}/v1/embeddings`, { model: 'bert', input });
      expect(malformed.status, JSON.stringify(input)).toBe(400);
    }
  });

  it('refuses generation on the encoder with a 400', async () => {
    const response = await post(`${server.url}/v1/completions`, { model: 'bert', prompt: 'hello', max_tokens: 2 });
    expect(response.status).toBe(400);
    expect(response.json.error.message).toContain('embedding model');
  });
});
