import { SmallMindError } from '@smallmind/quantization-tensors';

/** A tool as OpenAI declares it: `{ type: 'function', function: { name, description?, parameters? } }`. */
export interface ToolDefinition {
  readonly type: 'function';
  readonly function: {
    readonly name: string;
    readonly description?: string;
    /** A JSON schema of the arguments object (default: any object). */
    readonly parameters?: Readonly<Record<string, unknown>>;
    readonly [key: string]: unknown;
  };
}

/** One call the model made, as OpenAI returns it; `arguments` is JSON text. */
export interface ToolCall {
  readonly id: string;
  readonly type: 'function';
  readonly function: { readonly name: string; readonly arguments: string };
}

/**
 * OpenAI's `tool_choice`: `auto` (the model decides), `none` (no tools offered), `required` (at least one call),
 * or one named function (a call of exactly it).
 */
export type ToolChoice = 'auto' | 'none' | 'required' | { readonly type: 'function'; readonly function: { readonly name: string } };

/**
 * How a model writes its calls:
 * - `hermes`: `<tool_call>{"name": .., "arguments": {..}}</tool_call>` per call (Hermes, Qwen 2.5/3, the generic prompt);
 * - `llama3`: a bare `{"name": .., "parameters": {..}}` object, optionally after `<|python_tag|>` (Llama 3.1-3.3);
 * - `mistral`: `[TOOL_CALLS]` then a JSON array of `{"name": .., "arguments": {..}}` (Mistral v0.3, Nemo);
 * - `phi4`: `<|tool_call|>` then a call object or an array of them, then `<|/tool_call|>` (Phi-4-mini).
 */
export type ToolCallFormat = 'hermes' | 'llama3' | 'mistral' | 'phi4';

/** What the model said: text, and the calls found in it (the call markup is never part of `content`). */
export interface ParsedReply {
  readonly content: string;
  readonly toolCalls: ToolCall[];
}

/** Codes of `ToolCallError`. */
export type ToolCallErrorCode =
  /** A tool definition is not `{ type: 'function', function: { name, parameters? } }`. */
  | 'INVALID_TOOL'
  /** `tool_choice` is not one of the accepted values, or names a function that is not among the tools. */
  | 'INVALID_TOOL_CHOICE'
  /** An assistant `tool_calls` entry or a `tool` message is malformed. */
  | 'INVALID_TOOL_MESSAGE'
  /** `required` or a named function, but no grammar can be built (no schema converter given). */
  | 'GRAMMAR_UNAVAILABLE';

/** Bad tool input; `field` names what is wrong (`tools[1].function.name`, `tool_choice`, `messages[3].tool_calls[0]`). */
export class ToolCallError extends SmallMindError<ToolCallErrorCode> {
  override readonly name = 'ToolCallError';
  constructor(
    code: ToolCallErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(code, message);
  }
}
