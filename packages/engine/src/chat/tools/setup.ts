import { checkToolChoice, checkTools, prepareToolConversation, type ToolConversation } from './conversation.js';
import { detectToolFormat, type ToolTemplateInfo } from './detect.js';
import { toolCallGrammar, type SchemaToGbnf } from './grammar.js';
import { ToolCallStreamParser, parseToolCalls } from './parse.js';
import { ToolCallError, type ParsedReply, type ToolChoice, type ToolDefinition } from './types.js';

export interface ToolRequest {
  /** The chat template's text (the model's, or an override). */
  readonly template: string;
  /** Whether a text is one token of the vocabulary (format detection falls back on it). */
  readonly hasToken?: (text: string) => boolean;
  /** OpenAI-style messages (assistant `tool_calls`, `tool` results). */
  readonly messages: ReadonlyArray<Readonly<Record<string, unknown>>>;
  readonly tools?: unknown;
  /** Default `auto` (with tools). */
  readonly toolChoice?: unknown;
  /** More than one call per reply (default true). */
  readonly parallelToolCalls?: boolean;
  /** Needed for `required` / a named function: the grammar of the calls. */
  readonly schemaToGbnf?: SchemaToGbnf;
}

/** Everything one tool-using chat turn needs: what to render, the grammar to sample with, how to read the reply. */
export interface ToolTurn extends ToolConversation {
  readonly info: ToolTemplateInfo;
  readonly choice: ToolChoice;
  /** The tools offered this turn (none for `tool_choice: 'none'`). */
  readonly offered: readonly ToolDefinition[];
  /** GBNF for `required` / a named function. */
  readonly grammar?: string;
  /** A parser of the reply (undefined: no tools offered, the reply is all content). */
  parser(): ToolCallStreamParser | undefined;
  /** The content and calls of a whole reply (all content when no tools were offered). */
  parse(text: string): ParsedReply;
}

/**
 * Checks the tools and `tool_choice`, detects the template's format, rewrites the messages for it, and builds
 * the grammar for `required` or a named function (`none` offers no tools; the history is still rendered).
 * @throws ToolCallError INVALID_TOOL, INVALID_TOOL_CHOICE, INVALID_TOOL_MESSAGE, GRAMMAR_UNAVAILABLE.
 */
export function prepareToolTurn(request: ToolRequest): ToolTurn {
  const tools = request.tools === undefined || request.tools === null ? [] : checkTools(request.tools);
  const choice = request.toolChoice === undefined || request.toolChoice === null ? (tools.length === 0 ? 'none' : 'auto') : checkToolChoice(request.toolChoice, tools);
  const info = detectToolFormat(request.template, request.hasToken);
  const offered = choice === 'none' ? [] : tools;
  const conversation = prepareToolConversation(request.messages, info, offered);
  let grammar: string | undefined;
  if (choice === 'required' || typeof choice === 'object') {
    if (request.schemaToGbnf === undefined) throw new ToolCallError('GRAMMAR_UNAVAILABLE', 'tool_choice', 'tool_choice required / a named function needs a JSON-schema-to-GBNF converter');
    try {
      grammar = toolCallGrammar(info.format, offered, choice, { parallel: request.parallelToolCalls ?? true, schemaToGbnf: request.schemaToGbnf });
    } catch (error) {
      // A parameters schema the converter cannot express (the message names its path in the anyOf over the tools).
      throw new ToolCallError('INVALID_TOOL', 'tools', `a tool's parameters schema cannot constrain the reply: ${(error as Error).message}`);
    }
  }
  const names = new Set(offered.map((t) => t.function.name));
  return {
    ...conversation,
    info,
    choice,
    offered,
    ...(grammar === undefined ? {} : { grammar }),
    parser: () => (offered.length === 0 ? undefined : new ToolCallStreamParser(info.format, { names })),
    parse: (text) => (offered.length === 0 ? { content: text, toolCalls: [] } : parseToolCalls(text, info.format, { names })),
  };
}
