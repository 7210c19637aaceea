/**
 * Every bad request gets its status and OpenAI's error shape `{"error":{"message","type","param","code"}}`;
 * a full queue gets 429 with Retry-After; a client that disconnects mid-stream frees its slot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, paramOfField, toApiError } from './errors.js';
import { longWindow, longWindowPrompt, noEos, post, startLongWindowServer, startTestServer, storiesModel, until } from './test-support.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

function expectError(response: { status: number; json: any }, status: number, param: string | null, type?: string): void {
  expect(response.status, JSON.stringify(response.json)).toBe(status);
  expect(Object.keys(response.json)).toEqual(['error']);
  expect(Object.keys(response.json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof response.json.error.message).toBe('string');
  expect(response.json.error.message.length).toBeGreaterThan(0);
  expect(response.json.error.param).toBe(param);
  if (type !== undefined) expect(response.json.error.type).toBe(type);
}

describe('error mapping', () => {
  it('names the API parameter of an engine option', () => {
    expect(paramOfField('topP')).toBe('top_p');
    expect(paramOfField('stop[2]')).toBe('stop[2]');
    expect(paramOfField('logitBias[7]')).toBe('logit_bias[7]');
    expect(paramOfField(undefined)).toBeNull();
  });
  it('maps engine errors to 400 / 500', () => {
    const tooLong = Object.assign(new Error('the prompt is 900 tokens'), { code: 'PROMPT_TOO_LONG', field: 'prompt' });
    expect(toApiError(tooLong)).toMatchObject({ status: 400, code: 'context_length_exceeded', param: 'prompt' });
    const option = Object.assign(new Error('bad'), { name: 'InvalidInputError', code: 'INVALID_OPTION', field: 'repeatPenalty' });
    expect(toApiError(option)).toMatchObject({ status: 400, param: 'repeat_penalty' });
    expect(toApiError(new Error('boom'))).toMatchObject({ status: 500, type: 'server_error' });
    const api = new ApiError(404, 'not_found_error', 'x', 'model', 'model_not_found');
    expect(toApiError(api)).toBe(api);
  });
});

describe('bad requests', () => {
  let server: TestServer;
  const key = 'sk-test-key';
  const auth = { authorization: `Bearer ${key}` };
  beforeAll(async () => {
    server = await startTestServer({ apiKey: key, bodyLimit: 64 * 1024 });
  });
  afterAll(() => server.cleanup());
  const completions = (body: unknown, headers: Record<string, string> = auth) => post(`${server.url}/v1/completions`, body, headers);
  const chat = (body: unknown, headers: Record<string, string> = auth) => post(`${server.url}/v1/chat/completions`, body, headers);

  it('401 without the API key or with a wrong one; /health stays open', async () => {
    expectError(await completions({ prompt: 'x', max_tokens: 1 }, {}), 401, null, 'authentication_error');
    expectError(await completions({ prompt: 'x', max_tokens: 1 }, { authorization: 'Bearer wrong' }), 401, null, 'authentication_error');
    const models = await fetch(`${server.url}/v1/models`);
    expect(models.status).toBe(401);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await completions({ prompt: 'x', max_tokens: 1 }, { 'x-api-key': key })).status).toBe(200);
    expect((await completions({ prompt: 'x', max_tokens: 1 })).status).toBe(200);
  });

  it('400 for malformed JSON, a missing field and wrong types (never coerced)', async () => {
    expectError(await completions('{"prompt": "x",'), 400, null, 'invalid_request_error');
    expectError(await completions('{"__proto__": {"x": 1}, "prompt": "x"}'), 400, null);
    expectError(await completions({ max_tokens: 1 }), 400, 'prompt');
    expectError(await chat({ model: storiesModel }), 400, 'messages');
    expectError(await completions({ prompt: 'x', temperature: '0.5' }), 400, 'temperature');
    expectError(await completions({ prompt: 'x', max_tokens: 1.5 }), 400, 'max_tokens');
    expectError(await completions({ prompt: 'x', max_tokens: -1 }), 400, 'max_tokens');
    expectError(await completions({ prompt: 'x', top_p: 2 }), 400, 'top_p');
    expectError(await completions({ prompt: 'x', stream: 'yes' }), 400, 'stream');
    expectError(await completions({ prompt: 'x', stop: Array.from({ length: 17 }, (_, i) => `s${i}`) }), 400, 'stop');
    expectError(await completions({ prompt: 'x', logit_bias: { abc: 1 } }), 400, 'logit_bias');
    expectError(await completions({ prompt: 'x', seed: 2 ** 33 }), 400, 'seed');
    expectError(await chat({ messages: [{ role: 'wizard', content: 'hi' }] }), 400, 'messages[0].role');
    expectError(await chat({ messages: [{ role: 'user', content: 42 }] }), 400, 'messages[0].content');
    expectError(await chat({ messages: [] }), 400, 'messages');
    expectError(await chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }), 400, 'messages[0].content[0]');
  });

  it('400 for n != 1, engine-refused values, tokens outside the vocabulary and prompts that do not fit', async () => {
    expectError(await completions({ prompt: 'x', n: 2 }), 400, 'n');
    expectError(await completions({ prompt: 'x', repeat_penalty: 0 }), 400, 'repeat_penalty');
    expectError(await completions({ prompt: 'x', logit_bias: { '999999': 5 } }), 400, 'logit_bias.999999');
    expectError(await completions({ prompt: [1, 70000] }), 400, 'prompt[1]');
    expectError(await post(`${server.url}/detokenize`, { tokens: [1, 70000] }, auth), 400, 'tokens[1]');
    const long = 'Once upon a time there was a little girl. '.repeat(40);
    const tooLong = await completions({ prompt: long, max_tokens: 1 });
    expectError(tooLong, 400, 'prompt');
    expect(tooLong.json.error.code).toBe('context_length_exceeded');
    expectError(await chat({ messages: [{ role: 'user', content: long }], max_tokens: 1 }), 400, 'messages');
  });

  it('404 for an unknown model (never opened as a path) and an unknown route', async () => {
    const unknown = await completions({ model: 'gpt-4', prompt: 'x' });
    expectError(unknown, 404, 'model', 'not_found_error');
    expect(unknown.json.error.code).toBe('model_not_found');
    expectError(await chat({ model: '../../../fixtures/stories260K/stories260K-F32.gguf', messages: [{ role: 'user', content: 'x' }] }), 404, 'model');
    expectError(await post(`${server.url}/v1/images/generations`, { prompt: 'x' }, auth), 404, null);
  });

  it('413 for a body over the limit', async () => {
    expectError(await completions({ prompt: 'x'.repeat(100 * 1024) }), 413, null);
  });
});

describe('queue and disconnects', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startLongWindowServer({ parallel: 1, maxQueue: 0 });
  });
  afterAll(() => server.cleanup());

  const health = async (): Promise<{ busy: number; queued: number }> => ((await (await fetch(`${server.url}/health`)).json()) as { models: Array<{ busy: number; queued: number }> }).models[0]!;
  const generated = async (): Promise<number> => Number(/^smallmind_generated_tokens_total\{[^}]*\} (\S+)$/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1] ?? 0);

  /** Starts a long streaming completion and resolves once its first chunk arrived (the slot is busy). */
  async function streamStarted(controller: AbortController): Promise<ReadableStreamDefaultReader<Uint8Array>> {
    const response = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: longWindowPrompt, max_tokens: 10_000, temperature: 0, logit_bias: noEos, stream: true }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toMatch(/^data: \{/);
    return reader;
  }

  it('429 with Retry-After when every slot is busy and the queue is full', async () => {
    const controller = new AbortController();
    const reader = await streamStarted(controller);
    const refused = await post(`${server.url}/v1/completions`, { prompt: 'x', max_tokens: 1 });
    expectError(refused, 429, null, 'rate_limit_error');
    expect(refused.headers.get('retry-after')).toBe('1');
    // Drain the stream to its end: the slot is free again afterwards.
    while (!(await reader.read()).done);
    await until(async () => (await health()).busy === 0, 5000, 'the slot to be released');
    expect((await post(`${server.url}/v1/completions`, { prompt: 'x', max_tokens: 1 })).status).toBe(200);
  });

  it('a client that disconnects mid-stream aborts its generation and frees the slot', async () => {
    // How many tokens the same request generates when it is not interrupted (until the window is full).
    const full = await post(`${server.url}/v1/completions`, { prompt: longWindowPrompt, max_tokens: 10_000, temperature: 0, logit_bias: noEos });
    expect(full.json.choices[0].finish_reason).toBe('length');
    const fullTokens = full.json.usage.completion_tokens as number;
    expect(fullTokens).toBeGreaterThan(longWindow / 2);
    const before = await generated();
    const controller = new AbortController();
    await streamStarted(controller);
    controller.abort();
    await until(async () => (await health()).busy === 0, 5000, 'the slot to be released');
    // The generation stopped early instead of running to the end of the window.
    expect((await generated()) - before).toBeLessThan(fullTokens);
    expect((await post(`${server.url}/v1/completions`, { prompt: 'x', max_tokens: 1 })).status).toBe(200);
  });
});
