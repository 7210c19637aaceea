/**
 * Tool calling on /v1/chat/completions through the official `openai` client: tools and tool history are
 * accepted and rendered, bad tool input is a 400 naming the field.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRandomModelWithVocabulary } from '../test-models.js';
import { post, startTestServer } from './test-support.js';

const fixtures = fileURLToPath(new URL('../../../../fixtures/chat-templates/', import.meta.url));
const model = 'qwen2.5-tools';

const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Current weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

const history = [
  { role: 'user' as const, content: 'Weather in Paris?' },
  { role: 'assistant' as const, content: null, tool_calls: [{ id: 'call_1', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
  { role: 'tool' as const, tool_call_id: 'call_1', content: '{"temperature": 18}' },
];

describe('tool calls on a random-weight model with the Qwen2.5-Instruct template and vocabulary', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let client: OpenAI;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'smallmind-tools-'));
    const path = join(dir, `${model}.gguf`);
    await writeRandomModelWithVocabulary('qwen2', join(fixtures, 'ggml-vocab-qwen2.gguf.gz'), path, 3, readFileSync(join(fixtures, 'templates/qwen2.5-instruct.jinja'), 'utf8'));
    server = await startTestServer({ models: [path] });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });
  }, 120_000);
  afterAll(async () => {
    await server.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts tools and a call/result history, and answers in OpenAI\'s shape', async () => {
    const chat = await client.chat.completions.create({ model: model, messages: history, tools: [weatherTool], max_tokens: 8, temperature: 0 });
    const choice = chat.choices[0]!;
    // The tools and the history went into the prompt (the template's tool section makes it much longer).
    const plain = await client.chat.completions.create({ model: model, messages: [{ role: 'user', content: 'Weather in Paris?' }], max_tokens: 1, temperature: 0 });
    expect(chat.usage!.prompt_tokens).toBeGreaterThan(plain.usage!.prompt_tokens + 100);
    expect(['stop', 'length', 'tool_calls']).toContain(choice.finish_reason);
    if (choice.finish_reason !== 'tool_calls') expect(typeof choice.message.content).toBe('string');
  });

  it('streams with tools offered: content deltas join to the whole answer', async () => {
    const whole = await client.chat.completions.create({ model: model, messages: history, tools: [weatherTool], max_tokens: 12, temperature: 0 });
    const stream = await client.chat.completions.create({ model: model, messages: history, tools: [weatherTool], max_tokens: 12, temperature: 0, stream: true });
    let content = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe(whole.choices[0]!.finish_reason);
    expect(content).toBe(whole.choices[0]!.message.content ?? '');
  });

  it('tool_choice none renders the history without offering the tools', async () => {
    const none = await client.chat.completions.create({ model: model, messages: history, tools: [weatherTool], tool_choice: 'none', max_tokens: 1, temperature: 0 });
    const offered = await client.chat.completions.create({ model: model, messages: history, tools: [weatherTool], max_tokens: 1, temperature: 0 });
    expect(none.usage!.prompt_tokens).toBeLessThan(offered.usage!.prompt_tokens);
    expect(none.choices[0]!.message.tool_calls ?? []).toEqual([]);
  });

  it('bad tool input is a 400 naming the field', async () => {
    const url = `${server.url}/v1/chat/completions`;
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ messages: history, tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice.function.name', 'invalid_tool_choice'],
      [{ messages: history, tools: [weatherTool, weatherTool] }, 'tools[1].function.name', 'invalid_tool'],
      [{ messages: [history[0], { ...history[1], tool_calls: [{ id: 'c', type: 'function', function: { name: 'get_weather', arguments: '{not json' } }] }] }, 'messages[1].tool_calls[0].function.arguments', 'invalid_tool_message'],
      [{ messages: history, tool_choice: 'required' }, 'tool_choice', 'invalid_tool_choice'],
      [{ messages: history, tools: [{ type: 'retrieval' }] }, 'tools[0].function', 'invalid_value'],
      [{ messages: history, tool_choice: 'sometimes' }, 'tool_choice', 'invalid_value'],
    ];
    for (const [body, param, code] of cases) {
      const response = await post(url, { max_tokens: 1, ...body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.json.error).toMatchObject({ type: 'invalid_request_error', param, code });
    }
  });
});
