import { describe, expect, it } from 'vitest';
import { scanJson } from './json-scan.js';
import { ToolCallStreamParser, newToolCallId, parseToolCalls, type ToolStreamDelta } from './parse.js';
import type { ParsedReply, ToolCallFormat } from './types.js';

/** Deterministic ids, so two parses of the same text compare equal. */
const ids = (): (() => string) => {
  let n = 0;
  return () => `id${n++}`;
};

/** Streams `pieces` through a parser and rebuilds the reply from its deltas, as an OpenAI client would. */
function streamed(format: ToolCallFormat, pieces: readonly string[]): { reply: ParsedReply; deltas: ToolStreamDelta[]; parser: ParsedReply } {
  const parser = new ToolCallStreamParser(format, { newId: ids() });
  const deltas = [...pieces.flatMap((p) => parser.push(p)), ...parser.finish()];
  let content = '';
  const calls: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }> = [];
  for (const d of deltas) {
    if ('content' in d) content += d.content;
    else {
      const { index, id, function: fn } = d.toolCall;
      if (id !== undefined) {
        expect(index).toBe(calls.length);
        calls.push({ id, type: 'function', function: { name: fn.name!, arguments: '' } });
      }
      calls[index]!.function.arguments += fn.arguments;
    }
  }
  return { reply: { content, toolCalls: calls }, deltas, parser: parser.result() };
}

const weather = { city: 'Paris', unit: 'celsius' };
const cases: Array<{ format: ToolCallFormat; text: string; content: string; calls: Array<[string, unknown]> }> = [
  { format: 'hermes', text: `<tool_call>\n{"name": "get_weather", "arguments": ${JSON.stringify(weather)}}\n</tool_call>`, content: '', calls: [['get_weather', weather]] },
  {
    format: 'hermes',
    text: `Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>`,
    content: 'Let me check.',
    calls: [['get_weather', { city: 'Paris' }], ['get_time', {}]],
  },
  // Unclosed at the end of the reply (the model stopped at EOS): still a call.
  { format: 'hermes', text: '<tool_call>{"name": "f", "arguments": {"a": [1, {"b": "}"}]}}', content: '', calls: [['f', { a: [1, { b: '}' }] }]] },
  // Arguments given as JSON text are accepted.
  { format: 'hermes', text: '<tool_call>{"name": "f", "arguments": "{\\"x\\": 1}"}</tool_call> done', content: 'done', calls: [['f', { x: 1 }]] },
  { format: 'llama3', text: '{"name": "get_weather", "parameters": {"city": "Paris"}}', content: '', calls: [['get_weather', { city: 'Paris' }]] },
  { format: 'llama3', text: '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}', content: '', calls: [['get_weather', { city: 'Paris' }]] },
  { format: 'llama3', text: 'Sure: { "name" : "a", "parameters": {}}\n{"name": "b", "arguments": {"k": null}}', content: 'Sure:', calls: [['a', {}], ['b', { k: null }]] },
  { format: 'llama3', text: 'A set {1, 2} and {"x": 1} are not calls.', content: 'A set {1, 2} and {"x": 1} are not calls.', calls: [] },
  { format: 'mistral', text: '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", "arguments": {}}]', content: '', calls: [['get_weather', { city: 'Paris' }], ['get_time', {}]] },
  { format: 'mistral', text: 'Hmm [TOOL_CALLS] [{"name": "f", "arguments": {"q": "[x]"}, "id": "abcdefghi"}]', content: 'Hmm', calls: [['f', { q: '[x]' }]] },
  { format: 'phi4', text: '<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}]<|/tool_call|>', content: '', calls: [['get_weather', { city: 'Paris' }]] },
  { format: 'phi4', text: '<|tool_call|>{"name": "f", "arguments": {}}<|/tool_call|>Ok.', content: 'Ok.', calls: [['f', {}]] },
  // Garbage: the markup stays visible text, nothing is called.
  { format: 'hermes', text: '<tool_call>{"name": "f", "arguments": {1: 2}}</tool_call>', content: '<tool_call>{"name": "f", "arguments": {1: 2}}</tool_call>', calls: [] },
  { format: 'hermes', text: '<tool_call>{"arguments": {}}</tool_call>', content: '<tool_call>{"arguments": {}}</tool_call>', calls: [] },
  { format: 'hermes', text: 'x <tool_call>{"name": "f", "arguments": [1]}</tool_call>', content: 'x <tool_call>{"name": "f", "arguments": [1]}</tool_call>', calls: [] },
  { format: 'hermes', text: 'cut <tool_call>{"name": "f", "argu', content: 'cut <tool_call>{"name": "f", "argu', calls: [] },
  { format: 'mistral', text: '[TOOL_CALLS][{"name": "f", "arguments": {},}]', content: '[TOOL_CALLS][{"name": "f", "arguments": {},}]', calls: [] },
  { format: 'phi4', text: '<|tool_call|>[]<|/tool_call|>', content: '<|tool_call|>[]<|/tool_call|>', calls: [] },
  // No call: the text comes back exactly, whitespace included.
  { format: 'hermes', text: '  Plain answer, < and <tool but no call.\n', content: '  Plain answer, < and <tool but no call.\n', calls: [] },
];

describe('tool-call parsing', () => {
  for (const c of cases) {
    it(`${c.format}: ${JSON.stringify(c.text).slice(0, 70)}`, () => {
      const whole = parseToolCalls(c.text, c.format, { newId: ids() });
      expect(whole.content).toBe(c.content);
      expect(whole.toolCalls.map((t) => [t.function.name, JSON.parse(t.function.arguments)])).toEqual(c.calls);
      expect(whole.toolCalls.every((t) => t.type === 'function')).toBe(true);
      // Streaming in two pieces split at every position, and one character at a time, gives the same reply.
      for (let i = 0; i <= c.text.length; i++) {
        const { reply, parser } = streamed(c.format, [c.text.slice(0, i), c.text.slice(i)]);
        expect(reply).toEqual(whole);
        expect(parser).toEqual(whole);
      }
      const { reply, deltas } = streamed(c.format, [...c.text]);
      expect(reply).toEqual(whole);
      // Markup never reaches the content when a call was made.
      if (c.calls.length > 0) for (const d of deltas) if ('content' in d) expect(d.content).not.toMatch(/tool_call|TOOL_CALLS|python_tag|"name"/);
    });
  }

  it('announces a call with its id and name first, then its arguments', () => {
    const { deltas } = streamed('hermes', ['<tool_call>{"name": "f", "arguments": {"a": 1}}</tool_call>']);
    expect(deltas).toEqual([
      { toolCall: { index: 0, id: 'id0', type: 'function', function: { name: 'f', arguments: '' } } },
      { toolCall: { index: 0, function: { arguments: '{"a":1}' } } },
    ]);
  });

  it('holds back text that may open a call, and releases it when it does not', () => {
    const parser = new ToolCallStreamParser('hermes');
    expect(parser.push('Hi <tool')).toEqual([{ content: 'Hi' }]);
    expect(parser.push('box> ok')).toEqual([{ content: ' <toolbox> ok' }]);
  });

  it('only accepts calls of the declared names when told them', () => {
    const text = '<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>';
    expect(parseToolCalls(text, 'hermes', { names: new Set(['get_weather']) })).toEqual({ content: text, toolCalls: [] });
    expect(parseToolCalls(text, 'hermes').toolCalls).toHaveLength(1);
  });

  it('refuses push() after finish()', () => {
    const parser = new ToolCallStreamParser('llama3');
    parser.finish();
    expect(() => parser.push('x')).toThrow(/after finish/);
  });

  it('makes ids in each format\'s convention', () => {
    expect(newToolCallId('mistral')).toMatch(/^[A-Za-z0-9]{9}$/);
    expect(newToolCallId('hermes')).toMatch(/^call_[A-Za-z0-9]{24}$/);
    expect(newToolCallId('hermes')).not.toBe(newToolCallId('hermes'));
  });
});

describe('scanJson', () => {
  it('finds where an object or array ends, strictly', () => {
    expect(scanJson('x{"a": "}"} tail', 1)).toEqual({ end: 11, value: { a: '}' } });
    expect(scanJson('[1, [2]]', 0)).toEqual({ end: 8, value: [1, [2]] });
    expect(scanJson('{"a": [1}', 0)).toBe('invalid');
    expect(scanJson("{'a': 1}", 0)).toBe('invalid');
    expect(scanJson('{"a": "x\\"', 0)).toBe('incomplete');
    expect(scanJson('"s"', 0)).toBe('invalid');
    expect(scanJson('', 0)).toBe('incomplete');
  });
});
