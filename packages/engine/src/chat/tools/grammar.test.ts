import { GrammarMatcher, grammarSpace, jsonSchemaToGbnf } from '@smallmind/runtime';
import { describe, expect, it } from 'vitest';
import { formatToolCalls } from './conversation.js';
import { toolCallGrammar, toolCallSchema, type SchemaToGbnf } from './grammar.js';
import { parseToolCalls } from './parse.js';
import type { ToolDefinition } from './types.js';

const tools: ToolDefinition[] = [
  { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
  { type: 'function', function: { name: 'get_time' } },
];

/** Records what it was asked to convert and answers with a placeholder rule. */
function recorder(): { convert: SchemaToGbnf; seen: Array<{ schema: unknown; rootName: string }> } {
  const seen: Array<{ schema: unknown; rootName: string }> = [];
  return {
    seen,
    convert: (schema, { rootName }) => {
      seen.push({ schema, rootName });
      return `${rootName} ::= "{}"\n`;
    },
  };
}

describe('toolCallSchema', () => {
  it('is an anyOf of {name: const, arguments: parameters} over the tools, or the one named', () => {
    expect(toolCallSchema('hermes', tools, 'required')).toEqual({
      anyOf: [
        { type: 'object', properties: { name: { const: 'get_weather' }, arguments: tools[0]!.function.parameters }, required: ['name', 'arguments'], additionalProperties: false },
        { type: 'object', properties: { name: { const: 'get_time' }, arguments: { type: 'object' } }, required: ['name', 'arguments'], additionalProperties: false },
      ],
    });
    expect(toolCallSchema('llama3', tools, { type: 'function', function: { name: 'get_time' } })).toEqual({
      type: 'object',
      properties: { name: { const: 'get_time' }, parameters: { type: 'object' } },
      required: ['name', 'parameters'],
      additionalProperties: false,
    });
  });
});

describe('toolCallGrammar', () => {
  it('puts each format\'s markup around the call rule', () => {
    const roots: Record<string, string> = {};
    for (const format of ['hermes', 'llama3', 'mistral', 'phi4'] as const) {
      const { convert, seen } = recorder();
      const grammar = toolCallGrammar(format, tools, 'required', { schemaToGbnf: convert, parallel: false })!;
      expect(seen).toEqual([{ schema: toolCallSchema(format, tools, 'required'), rootName: 'tool-call' }]);
      expect(grammar.endsWith('tool-call ::= "{}"\n')).toBe(true);
      roots[format] = grammar.split('\n')[0]!;
    }
    expect(roots).toEqual({
      hermes: 'root ::= "<tool_call>\\n" tool-call "\\n</tool_call>"',
      llama3: 'root ::= tool-call',
      mistral: 'root ::= "[TOOL_CALLS][" tool-call "]"',
      phi4: 'root ::= "<|tool_call|>[" tool-call "]<|/tool_call|>"',
    });
  });

  it('repeats the call for parallel calls, and not for a named function', () => {
    const { convert } = recorder();
    expect(toolCallGrammar('hermes', tools, 'required', { schemaToGbnf: convert })!.split('\n')[0]).toBe(
      'root ::= "<tool_call>\\n" tool-call "\\n</tool_call>" ("\\n" "<tool_call>\\n" tool-call "\\n</tool_call>")*',
    );
    expect(toolCallGrammar('mistral', tools, 'required', { schemaToGbnf: convert })!.split('\n')[0]).toBe('root ::= "[TOOL_CALLS][" tool-call (", " tool-call)* "]"');
    expect(toolCallGrammar('hermes', tools, { type: 'function', function: { name: 'get_time' } }, { schemaToGbnf: convert })!.split('\n')[0]).toBe('root ::= "<tool_call>\\n" tool-call "\\n</tool_call>"');
  });

  it('constrains nothing for auto and none', () => {
    const { convert, seen } = recorder();
    expect(toolCallGrammar('hermes', tools, 'auto', { schemaToGbnf: convert })).toBeUndefined();
    expect(toolCallGrammar('hermes', tools, 'none', { schemaToGbnf: convert })).toBeUndefined();
    expect(seen).toEqual([]);
  });
});

describe('toolCallGrammar with jsonSchemaToGbnf, compiled by the grammar engine', () => {
  const calls = [
    { name: 'get_weather', arguments: { city: 'Paris' } },
    { name: 'get_time', arguments: {} },
  ];
  for (const format of ['hermes', 'llama3', 'mistral', 'phi4'] as const) {
    it(`${format}: admits the calls as the format writes them, which parse back; nothing else`, () => {
      const accepts = (text: string, parallel: boolean): boolean => {
        const matcher = new GrammarMatcher(grammarSpace(toolCallGrammar(format, tools, 'required', { schemaToGbnf: jsonSchemaToGbnf, parallel })!));
        return matcher.acceptText(text) && matcher.accepting;
      };
      const one = formatToolCalls(format, calls.slice(0, 1));
      const two = formatToolCalls(format, calls);
      expect(accepts(one, false)).toBe(true);
      expect(accepts(two, true)).toBe(true);
      expect(accepts(two, false)).toBe(false);
      expect(accepts(`Sure. ${one}`, true)).toBe(false);
      expect(accepts(one.slice(0, -1), true)).toBe(false);
      // Arguments outside a tool's schema, or an undeclared tool, are not sentences of the grammar.
      expect(accepts(formatToolCalls(format, [{ name: 'get_weather', arguments: { city: 5 } }]), true)).toBe(false);
      expect(accepts(formatToolCalls(format, [{ name: 'get_weather', arguments: {} }]), true)).toBe(false);
      expect(accepts(formatToolCalls(format, [{ name: 'rm_rf', arguments: {} }]), true)).toBe(false);
      expect(parseToolCalls(two, format).toolCalls.map((c) => [c.function.name, JSON.parse(c.function.arguments)])).toEqual(calls.map((c) => [c.name, c.arguments]));
    });
  }
});
