import type { ToolCallFormat, ToolChoice, ToolDefinition } from './types.js';

/** Converts a JSON schema to GBNF rules whose entry rule is `rootName` (`jsonSchemaToGbnf` of `@smallmind/runtime`). */
export type SchemaToGbnf = (schema: Readonly<Record<string, unknown>>, options: { readonly rootName: string }) => string;

/** The entry rule of the call object inside the markup. */
export const TOOL_CALL_RULE = 'tool-call';

/**
 * The JSON schema of one call object: `{"name": <const>, "arguments": <the tool's parameters>}` (`parameters`
 * for llama3), an `anyOf` over the tools `choice` allows (a named function: only it).
 */
export function toolCallSchema(format: ToolCallFormat, tools: readonly ToolDefinition[], choice: ToolChoice): Record<string, unknown> {
  const key = format === 'llama3' ? 'parameters' : 'arguments';
  const allowed = typeof choice === 'object' ? tools.filter((t) => t.function.name === choice.function.name) : tools;
  const schemas = allowed.map((t) => ({
    type: 'object',
    properties: { name: { const: t.function.name }, [key]: t.function.parameters ?? { type: 'object' } },
    required: ['name', key],
    additionalProperties: false,
  }));
  return schemas.length === 1 ? schemas[0]! : { anyOf: schemas };
}

/** A GBNF string literal. */
function literal(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}"`;
}

/**
 * A GBNF grammar that admits exactly the format's call markup around call objects (one, or with `parallel`
 * one or more), for `tool_choice: 'required'` or a named function: the reply always parses as calls of
 * declared tools whose arguments follow their schemas. Undefined for `auto` and `none` (no constraint).
 */
export function toolCallGrammar(format: ToolCallFormat, tools: readonly ToolDefinition[], choice: ToolChoice, options: { readonly parallel?: boolean; readonly schemaToGbnf: SchemaToGbnf }): string | undefined {
  if (choice === 'auto' || choice === 'none') return undefined;
  // A named function is one call of it.
  const parallel = typeof choice === 'object' ? false : (options.parallel ?? true);
  const call = TOOL_CALL_RULE;
  const rules = options.schemaToGbnf(toolCallSchema(format, tools, choice), { rootName: call });
  const many = (item: string, separator: string): string => (parallel ? `${item} (${literal(separator)} ${item})*` : item);
  let root: string;
  switch (format) {
    case 'hermes':
      root = many(`${literal('<tool_call>\n')} ${call} ${literal('\n</tool_call>')}`, '\n');
      break;
    case 'llama3':
      root = many(call, '\n');
      break;
    case 'mistral':
      root = `${literal('[TOOL_CALLS][')} ${many(call, ', ')} ${literal(']')}`;
      break;
    case 'phi4':
      root = `${literal('<|tool_call|>[')} ${many(call, ', ')} ${literal(']<|/tool_call|>')}`;
      break;
  }
  return `root ::= ${root}\n${rules}`;
}
