/**
 * Tool calling on /v1/chat/completions through the official `openai` client: tools and tool history are
 * accepted and rendered, bad tool input is a 400 naming the field.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRandomModelWithVocabulary } from '../test-models.js';
import { post, startTestServer } from './test-support.js';

const fixtures = fileURLToPath(new URL('../../../../fixtures/chat-templates/', import.meta.url));
const model = 'qwen2.5-tools';

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    // Closed choices: a random-weight model fills a free string with random tokens until max_tokens.
    parameters: { type: 'object', properties: { city: { type: 'string', enum: ['Paris', 'Oslo'] }, unit: { enum: ['celsius', 'fahrenheit'] } }, required: ['city'], additionalProperties: false },
  },
};

const timeTool = {
  type: 'function' as const,
  function: {
    name: 'get_time',
    parameters: { type: 'object', properties: { timezone: { type: 'string', enum: ['UTC', 'CET'] }, seconds: { type: 'boolean' } }, required: ['timezone'], additionalProperties: false },
  },
};
const tools = [weatherTool, timeTool];
const validators = new Map(tools.map((t) => [t.function.name, new Ajv().compile(t.function.parameters)]));

/** Every call names a declared tool, and its arguments are JSON that its schema accepts. */
function expectValidCalls(calls: ReadonlyArray<{ id: string; type: string; function: { name: string; arguments: string } }>): void {
  expect(calls.length).toBeGreaterThan(0);
  for (const call of calls) {
    expect(call.type).toBe('function');
    expect(call.id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    const validate = validators.get(call.function.name);
    expect(validate, call.function.name).toBeDefined();
    expect(validate!(JSON.parse(call.function.arguments)), call.function.arguments).toBe(true);
  }
}

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
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 150_000 });
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

  // A random-weight model likes whitespace, which JSON allows (bounded) between tokens: calls take 60-200 tokens.
  const budget = { temperature: 1, max_tokens: 220 };

  it('tool_choice required: every answer is calls of declared tools whose arguments validate (temperature 1, many seeds)', async () => {
    let complete = 0;
    for (let seed = 0; seed < 6; seed++) {
      const single = seed % 2 === 0;
      const chat = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'What time is it, and the weather?' }], tools, tool_choice: 'required', parallel_tool_calls: !single, seed, ...budget });
      const choice = chat.choices[0]!;
      if (choice.finish_reason === 'length') {
        // Cut off: the calls completed before the cut are still whole, valid calls.
        for (const call of choice.message.tool_calls ?? []) expectValidCalls([call as never]);
        continue;
      }
      complete++;
      expect(choice.finish_reason).toBe('tool_calls');
      expect(choice.message.content).toBeNull();
      expectValidCalls(choice.message.tool_calls as never);
      if (single) expect(choice.message.tool_calls).toHaveLength(1);
    }
    expect(complete).toBeGreaterThanOrEqual(2);
  }, 300_000);

  it('a named function: exactly one call of it', async () => {
    let complete = 0;
    for (let seed = 0; seed < 4; seed++) {
      const named = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Time?' }], tools, tool_choice: { type: 'function', function: { name: 'get_time' } }, seed, ...budget });
      if (named.choices[0]!.finish_reason === 'length') continue;
      complete++;
      const calls = named.choices[0]!.message.tool_calls!;
      expect(calls.map((c) => (c as { function: { name: string } }).function.name)).toEqual(['get_time']);
      expectValidCalls(calls as never);
    }
    expect(complete).toBeGreaterThan(0);
  }, 300_000);

  it('round trip with the openai client: call, tool result, next assistant turn (streaming and not)', async () => {
    const question = { role: 'user' as const, content: 'Weather in Paris?' };
    const forced = { model, tools, tool_choice: { type: 'function' as const, function: { name: 'get_weather' } }, ...budget };
    // The first seed whose call completes within the budget (sampling is deterministic for a seed).
    let seed = 0;
    let first = await client.chat.completions.create({ ...forced, seed, messages: [question] });
    while (first.choices[0]!.finish_reason === 'length' && seed < 7) first = await client.chat.completions.create({ ...forced, seed: ++seed, messages: [question] });
    expect(first.choices[0]!.finish_reason).toBe('tool_calls');
    const message = first.choices[0]!.message;
    expectValidCalls(message.tool_calls as never);

    // The same call streamed: id and name first, then the arguments; finish_reason tool_calls; no content.
    const stream = await client.chat.completions.create({ ...forced, seed, messages: [question], stream: true });
    const calls: Array<{ id: string; name: string; arguments: string }> = [];
    let content = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta;
      content += delta?.content ?? '';
      for (const d of delta?.tool_calls ?? []) {
        if (d.id !== undefined) {
          expect(d.index).toBe(calls.length);
          expect(d.function?.name).toBeDefined();
          calls.push({ id: d.id, name: d.function!.name!, arguments: d.function?.arguments ?? '' });
        } else calls[d.index]!.arguments += d.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    expect(content).toBe('');
    const whole = message.tool_calls!.map((c) => (c as { function: { name: string; arguments: string } }).function);
    expect(calls.map(({ name, arguments: a }) => ({ name, arguments: a }))).toEqual(whole);

    // The result goes back with the assistant message exactly as the client got it.
    const call = message.tool_calls![0]!;
    const messages = [question, message, { role: 'tool' as const, tool_call_id: call.id, content: '{"temperature": 18, "sky": "clear"}' }];
    const next = await client.chat.completions.create({ model, messages, tools, temperature: 0, max_tokens: 8 });
    expect(next.usage!.prompt_tokens).toBeGreaterThan(first.usage!.prompt_tokens);
    expect(['stop', 'length', 'tool_calls']).toContain(next.choices[0]!.finish_reason);
    const streamed = await client.chat.completions.create({ model, messages, tools, temperature: 0, max_tokens: 8, stream: true });
    let text = '';
    for await (const chunk of streamed) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(next.choices[0]!.message.content ?? '');
  }, 300_000);

  it('bad tool input is a 400 naming the field', async () => {
    const url = `${server.url}/v1/chat/completions`;
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ messages: history, tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice.function.name', 'invalid_tool_choice'],
      [{ messages: history, tools: [weatherTool, weatherTool] }, 'tools[1].function.name', 'invalid_tool'],
      [{ messages: [history[0], { ...history[1], tool_calls: [{ id: 'c', type: 'function', function: { name: 'get_weather', arguments: '{not json' } }] }] }, 'messages[1].tool_calls[0].function.arguments', 'invalid_tool_message'],
      [{ messages: history, tool_choice: 'required' }, 'tool_choice', 'invalid_tool_choice'],
      [{ messages: history, tools: [{ type: 'retrieval' }] }, 'tools[0].function', 'invalid_value'],
      [{ messages: history, tool_choice: 'sometimes' }, 'tool_choice', 'invalid_value'],
      [{ messages: history, tools: [weatherTool], tool_choice: 'required', response_format: { type: 'json_object' } }, 'tool_choice', 'invalid_tool_choice'],
    ];
    for (const [body, param, code] of cases) {
      const response = await post(url, { max_tokens: 1, ...body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.json.error).toMatchObject({ type: 'invalid_request_error', param, code });
    }
  });
});
