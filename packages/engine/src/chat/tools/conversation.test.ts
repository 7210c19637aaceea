import { describe, expect, it } from 'vitest';
import { renderChatTemplate } from '../template.js';
import { casesFile, conversationsFile, templateSource } from '../test-support.js';
import { checkToolChoice, checkTools, prepareToolConversation, pythonJson } from './conversation.js';
import { detectToolFormat } from './detect.js';
import { prepareToolTurn } from './setup.js';
import type { ToolDefinition } from './types.js';

const now = new Date(casesFile.now);

describe('tool-call format detection', () => {
  const expected: Array<[string, string, string, boolean, boolean]> = [
    // template, format, tools via, renders tool_calls, renders tool results
    ['qwen2.5-instruct', 'hermes', 'variable', true, true],
    ['llama-3.1-instruct', 'llama3', 'variable', true, true],
    ['llama-3.2-instruct', 'llama3', 'variable', true, true],
    ['mistral-nemo-instruct', 'mistral', 'variable', true, true],
    ['phi-4-mini-instruct', 'phi4', 'system-field', false, false],
    // Lists tools but shows no call syntax: the generic (hermes) syntax is parsed.
    ['tools-strftime', 'hermes', 'variable', false, false],
    ['chatml', 'hermes', 'prompt', false, false],
    ['llama-3', 'hermes', 'prompt', false, false],
    ['mistral', 'hermes', 'prompt', false, false],
    ['phi-3', 'hermes', 'prompt', false, false],
  ];
  for (const [name, format, via, calls, results] of expected) {
    it(`${name}: ${format}, tools via ${via}`, () => {
      const info = detectToolFormat(templateSource(name));
      expect(info).toMatchObject({ format, toolsVia: via, rendersToolCalls: calls, rendersToolResults: results });
      expect(info.detected).toBe(name.includes('instruct'));
    });
  }

  it('falls back on the vocabulary\'s special tokens when the template says nothing', () => {
    const chatml = templateSource('chatml');
    expect(detectToolFormat(chatml, (t) => t === '[TOOL_CALLS]')).toMatchObject({ format: 'mistral', detected: true, toolsVia: 'prompt' });
    expect(detectToolFormat(chatml, (t) => t === '<|python_tag|>')).toMatchObject({ format: 'llama3', detected: true });
    expect(detectToolFormat(chatml, () => false)).toMatchObject({ format: 'hermes', detected: false });
  });
});

describe('tool conversations render as jinja2 renders them', () => {
  const roundTrips = conversationsFile.conversations.filter((c) => c.name.startsWith('tool-round-trip')) as unknown as Array<{
    name: string;
    templates: string[];
    openai: { messages: Array<Record<string, unknown>>; tools: ToolDefinition[] };
    messages: Array<Record<string, unknown>>;
    tools?: unknown[];
  }>;

  it('has a round trip for every tool format and for templates without tools', () => {
    const formats = new Set(roundTrips.flatMap((c) => c.templates.map((t) => detectToolFormat(templateSource(t)).format)));
    expect(formats).toEqual(new Set(['hermes', 'llama3', 'mistral', 'phi4']));
    expect(roundTrips.some((c) => c.templates.every((t) => detectToolFormat(templateSource(t)).toolsVia === 'prompt'))).toBe(true);
  });

  for (const c of roundTrips) {
    for (const template of c.templates) {
      it(`${template} / ${c.name}: OpenAI messages (string arguments, a tool result) become what the template takes`, () => {
        const source = templateSource(template);
        const prepared = prepareToolConversation(c.openai.messages, detectToolFormat(source), c.openai.tools);
        expect(prepared.messages).toEqual(c.messages);
        expect(prepared.tools).toEqual(c.tools);
        const info = conversationsFile.templates[template]!;
        for (const addGenerationPrompt of [false, true]) {
          const expected = casesFile.cases.find((x) => x.template === template && x.conversation === c.name && x.add_generation_prompt === addGenerationPrompt);
          expect(expected?.expected).toBeDefined();
          const rendered = renderChatTemplate(source, prepared.messages, {
            addGenerationPrompt,
            bosToken: info.bos_token,
            eosToken: info.eos_token,
            ...(prepared.tools === undefined ? {} : { tools: prepared.tools }),
            now,
          });
          expect(rendered).toBe(expected!.expected);
        }
      });
    }
  }
});

describe('tool input checks', () => {
  const tool = (name: string, parameters?: unknown): unknown => ({ type: 'function', function: { name, ...(parameters === undefined ? {} : { parameters }) } });

  it('accepts OpenAI tool definitions and names what is wrong otherwise', () => {
    expect(checkTools([tool('a'), tool('b', { type: 'object' })])).toHaveLength(2);
    expect(() => checkTools({})).toThrow(expect.objectContaining({ code: 'INVALID_TOOL', field: 'tools' }));
    expect(() => checkTools([tool('a'), { type: 'retrieval' }])).toThrow(expect.objectContaining({ code: 'INVALID_TOOL', field: 'tools[1].type' }));
    expect(() => checkTools([tool('has space')])).toThrow(expect.objectContaining({ field: 'tools[0].function.name' }));
    expect(() => checkTools([tool('a'), tool('a')])).toThrow(expect.objectContaining({ field: 'tools[1].function.name' }));
    expect(() => checkTools([tool('a', [1])])).toThrow(expect.objectContaining({ field: 'tools[0].function.parameters' }));
    expect(() => checkTools(Array.from({ length: 129 }, (_, i) => tool(`t${i}`)))).toThrow(expect.objectContaining({ code: 'INVALID_TOOL' }));
  });

  it('checks tool_choice against the tools', () => {
    const tools = checkTools([tool('a')]);
    expect(checkToolChoice('required', tools)).toBe('required');
    expect(checkToolChoice({ type: 'function', function: { name: 'a' } }, tools)).toEqual({ type: 'function', function: { name: 'a' } });
    expect(() => checkToolChoice({ type: 'function', function: { name: 'b' } }, tools)).toThrow(expect.objectContaining({ code: 'INVALID_TOOL_CHOICE', field: 'tool_choice.function.name' }));
    expect(() => checkToolChoice('always', tools)).toThrow(expect.objectContaining({ code: 'INVALID_TOOL_CHOICE', field: 'tool_choice' }));
    expect(() => checkToolChoice('required', [])).toThrow(expect.objectContaining({ code: 'INVALID_TOOL_CHOICE' }));
  });

  it('rejects malformed tool calls in the history, naming the message', () => {
    const info = detectToolFormat(templateSource('qwen2.5-instruct'));
    const bad = (call: unknown): unknown => () => prepareToolConversation([{ role: 'user', content: 'x' }, { role: 'assistant', content: null, tool_calls: [call] }], info, undefined);
    expect(bad({ function: { name: 'f', arguments: '{oops' } })).toThrow(expect.objectContaining({ code: 'INVALID_TOOL_MESSAGE', field: 'messages[1].tool_calls[0].function.arguments' }));
    expect(bad({ function: { name: 'f', arguments: '[1]' } })).toThrow(expect.objectContaining({ field: 'messages[1].tool_calls[0].function.arguments' }));
    expect(bad({ function: {} })).toThrow(expect.objectContaining({ field: 'messages[1].tool_calls[0]' }));
    expect(() => prepareToolConversation([{ role: 'tool', content: 'r', tool_call_id: 5 }], info, undefined)).toThrow(expect.objectContaining({ field: 'messages[0].tool_call_id' }));
  });

  it('tool_choice none offers no tools but still renders the history; required needs a converter', () => {
    const messages = [{ role: 'user', content: 'x' }];
    const turn = prepareToolTurn({ template: templateSource('qwen2.5-instruct'), messages, tools: [tool('a')], toolChoice: 'none' });
    expect(turn.tools).toBeUndefined();
    expect(turn.parser()).toBeUndefined();
    expect(prepareToolTurn({ template: templateSource('qwen2.5-instruct'), messages, tools: [tool('a')] }).tools).toHaveLength(1);
    expect(() => prepareToolTurn({ template: templateSource('qwen2.5-instruct'), messages, tools: [tool('a')], toolChoice: 'required' })).toThrow(expect.objectContaining({ code: 'GRAMMAR_UNAVAILABLE' }));
  });

  it('a parameters schema the converter refuses is INVALID_TOOL', () => {
    const refuse = (): string => {
      throw new Error('#/anyOf/0/properties/arguments: unsupported keyword "not"');
    };
    const request = { template: templateSource('qwen2.5-instruct'), messages: [{ role: 'user', content: 'x' }], tools: [tool('a', { not: {} })], toolChoice: 'required', schemaToGbnf: refuse };
    expect(() => prepareToolTurn(request)).toThrow(expect.objectContaining({ name: 'ToolCallError', code: 'INVALID_TOOL', field: 'tools', message: expect.stringContaining('unsupported keyword "not"') }));
  });

  it('writes JSON as Python\'s json.dumps does', () => {
    expect(pythonJson({ a: [1, 'x', null, { b: true }], 'c"': 1.5 })).toBe('{"a": [1, "x", null, {"b": true}], "c\\"": 1.5}');
    expect(pythonJson({ a: undefined, b: 1 })).toBe('{"b": 1}');
  });
});
