/**
 * Tool calling on /v1/chat/completions: the request's `tools`, `tool_choice`, `parallel_tool_calls` and tool
 * messages become a `ToolTurn` (messages for the model's template, a grammar for `required`), and the reply
 * goes through the turn's parser into `tool_calls` (whole, or as stream deltas).
 */
import type { ChatMessage, SchemaToGbnf, ToolStreamDelta, ToolTurn } from '../chat/index.js';
import { prepareToolTurn, selectChatTemplate, ToolCallError, vocabularyMarkers } from '../chat/index.js';
import { jsonSchemaToGbnf } from '@smallmind/runtime';
import type { ModelInfo, SmallMindEngine } from '../engine.js';
import type { GenerationOptions } from '../generation/index.js';
import { ApiError } from './errors.js';
import type { ResponseShaper } from './openai.js';
import type { ChatBody } from './schemas.js';

/** Does the request involve tools at all (tools offered, or calls and results in the history)? */
export function usesTools(body: ChatBody): boolean {
  return (body.tools != null && body.tools.length > 0) || body.tool_choice != null || body.messages.some((m) => m.role === 'tool' || (m.tool_calls != null && m.tool_calls.length > 0));
}

/** Which tool markers each engine's vocabulary has as single tokens (asked once per engine). */
const markersByEngine = new WeakMap<SmallMindEngine, Promise<(text: string) => boolean>>();

function markersOf(engine: SmallMindEngine): Promise<(text: string) => boolean> {
  let markers = markersByEngine.get(engine);
  if (markers === undefined) {
    markers = vocabularyMarkers((text) => engine.tokenize(text, { addBos: false, parseSpecial: true }));
    markersByEngine.set(engine, markers);
  }
  return markers;
}

/**
 * The tool turn of a request, or undefined when it involves no tools (the plain chat path then applies).
 * `messages` are the request's, contents already joined (`chatMessages`).
 * @throws ApiError 400 for bad tools, tool_choice or tool messages (the field named as `param`).
 */
export async function planToolChat(body: ChatBody, messages: readonly ChatMessage[], engine: SmallMindEngine, info: ModelInfo, schemaToGbnf: SchemaToGbnf = jsonSchemaToGbnf): Promise<ToolTurn | undefined> {
  if (!usesTools(body)) return undefined;
  // The request's own fields the joined messages dropped: the calls and the id a result answers.
  const openai = messages.map((message, i) => {
    const { tool_calls, tool_call_id } = body.messages[i]!;
    return { ...message, ...(tool_calls == null ? {} : { tool_calls }), ...(tool_call_id === undefined ? {} : { tool_call_id }) };
  });
  try {
    return prepareToolTurn({
      template: selectChatTemplate(info.chatTemplate),
      hasToken: await markersOf(engine),
      messages: openai,
      tools: body.tools ?? undefined,
      toolChoice: body.tool_choice ?? undefined,
      ...(body.parallel_tool_calls == null ? {} : { parallelToolCalls: body.parallel_tool_calls }),
      schemaToGbnf,
    });
  } catch (error) {
    if (error instanceof ToolCallError) throw new ApiError(400, 'invalid_request_error', error.message, error.field, error.code.toLowerCase());
    throw error;
  }
}

/** The generation options with the turn's call grammar (`required` / a named function). */
export function withToolGrammar(generation: GenerationOptions, turn: ToolTurn | undefined): GenerationOptions {
  if (turn?.grammar === undefined) return generation;
  if (generation.grammar !== undefined || generation.jsonSchema !== undefined) {
    throw new ApiError(400, 'invalid_request_error', 'tool_choice required / a named function constrains the reply to calls; it cannot be combined with response_format, grammar or json_schema', 'tool_choice', 'invalid_tool_choice');
  }
  return { ...generation, grammar: turn.grammar };
}

/** Sends stream deltas as chat chunks; returns whether the next chunk is still the first. */
export function sendToolDeltas(deltas: readonly ToolStreamDelta[], shaper: ResponseShaper, send: (chunk: unknown) => void, first: boolean): boolean {
  for (const delta of deltas) {
    send('content' in delta ? shaper.delta(delta.content, first) : shaper.toolDelta(delta.toolCall, first));
    first = false;
  }
  return first;
}
