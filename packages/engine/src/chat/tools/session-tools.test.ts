/**
 * Tools in the library's chat (`createChat({ tools })`), on a random-weight model with the Qwen2.5-Instruct
 * template and the qwen2 vocabulary: replies carry `content` and `toolCalls`, tool results go back through `send`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@smallmind/runtime';
import Ajv from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmallMindEngine } from '../../engine.js';
import { writeRandomModelWithVocabulary } from '../../test-models.js';
import { chatFixtures, templateSource } from '../test-support.js';
import type { ToolDefinition } from './types.js';

const weatherTool: ToolDefinition = {
  type: 'function',
  // A closed choice: a random-weight model fills a free string with random tokens until maxTokens.
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { enum: ['Paris', 'Oslo'] } }, required: ['city'], additionalProperties: false } },
};

describe('ChatSession with tools', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'smallmind-chat-tools-'));
  const engine = new SmallMindEngine({ cacheDir: join(workDir, 'cache'), logger: silentLogger, threads: 1 });
  beforeAll(async () => {
    const path = join(workDir, 'qwen2.5-tools.gguf');
    await writeRandomModelWithVocabulary('qwen2', join(chatFixtures, 'ggml-vocab-qwen2.gguf.gz'), path, 3, templateSource('qwen2.5-instruct'));
    await engine.loadModel({ path });
  }, 120_000);
  afterAll(async () => {
    await engine.dispose();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('renders the tools, returns content and toolCalls, and keeps the answer in the history', async () => {
    const chat = await engine.createChat({ tools: [weatherTool] });
    const reply = await chat.send('Weather in Paris?', { maxTokens: 6 });
    expect(reply.content).toBe(reply.toolCalls.length === 0 ? reply.text : reply.content);
    expect(chat.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    // The template's tool section is in the prompt: the same question without tools is far shorter.
    const plain = await engine.createChat();
    const without = await plain.send('Weather in Paris?', { maxTokens: 1 });
    expect(reply.timings.promptTokens).toBeGreaterThan(without.timings.promptTokens + 100);
    const rendered = await engine.renderChat([{ role: 'user', content: 'Hi' }], { tools: [weatherTool] });
    expect(rendered).toContain('<tools>\n{"type": "function", "function": {"name": "get_weather"');
  });

  it('sends a tool result back: it joins the history and is rendered for the next answer', async () => {
    const chat = await engine.createChat({ tools: [weatherTool] });
    const first = await chat.send('Weather in Paris?', { maxTokens: 2 });
    // As if the model had called the tool.
    chat.messages[1] = { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] };
    const reply = await chat.send({ role: 'tool', tool_call_id: 'call_1', content: '{"temperature": 18}' }, { maxTokens: 4 });
    expect(chat.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    // The Qwen template writes the call as <tool_call> markup and the result as a <tool_response> user turn.
    const markup = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n{"temperature": 18}\n</tool_response><|im_end|>\n';
    const markupTokens = (await engine.tokenize(markup, { addBos: false, parseSpecial: true })).length;
    expect(reply.timings.promptTokens).toBeGreaterThanOrEqual(first.timings.promptTokens + markupTokens);
    // The cache held the conversation up to the changed assistant turn: only the new part was evaluated.
    expect(reply.timings.cachedTokens).toBeGreaterThan(0);
  });

  it('toolChoice required: the reply is a call whose arguments validate; its result goes back and the model answers again', async () => {
    const validate = new Ajv().compile(weatherTool.function.parameters!);
    let done = 0;
    for (let seed = 0; seed < 6 && done < 2; seed++) {
      const chat = await engine.createChat({ tools: [weatherTool], toolChoice: 'required', parallelToolCalls: false });
      const reply = await chat.send('Weather in Paris?', { temperature: 1, seed, maxTokens: 220 });
      if (reply.finishReason === 'length') continue;
      done++;
      expect(reply.finishReason).toBe('stop');
      expect(reply.content).toBe('');
      expect(reply.toolCalls).toHaveLength(1);
      const call = reply.toolCalls[0]!;
      expect(call.function.name).toBe('get_weather');
      expect(validate(JSON.parse(call.function.arguments))).toBe(true);
      expect(chat.messages[1]).toEqual({ role: 'assistant', content: '', tool_calls: reply.toolCalls });
      const next = await chat.send({ role: 'tool', tool_call_id: call.id, content: '{"temperature": 18}' }, { temperature: 1, seed, maxTokens: 220 });
      expect(chat.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
      expect(next.timings.cachedTokens).toBeGreaterThan(0);
      if (next.finishReason !== 'length') expect(validate(JSON.parse(next.toolCalls[0]!.function.arguments))).toBe(true);
    }
    expect(done).toBeGreaterThan(0);
  }, 300_000);

  it('bad tools fail before anything is generated, and leave the history as it was', async () => {
    const chat = await engine.createChat({ tools: [weatherTool], toolChoice: { type: 'function', function: { name: 'nope' } } });
    expect(() => chat.send('hi')).toThrow(expect.objectContaining({ name: 'ToolCallError', code: 'INVALID_TOOL_CHOICE', field: 'tool_choice.function.name' }));
    expect(chat.messages).toEqual([]);
  });
});
