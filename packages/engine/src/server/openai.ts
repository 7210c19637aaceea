/**
 * OpenAI's request fields to the engine's generation options, and the engine's results to OpenAI's response
 * and stream-chunk shapes (plus llama-server's `timings`).
 */
import { randomUUID } from 'node:crypto';
import type { ChatMessage, ToolCall, ToolStreamDelta } from '../chat/index.js';
import { jsonObjectGbnf } from '@smallmind/runtime';
import { validateGenerationOptions, type GenerationOptions } from '../generation/index.js';
import type { FinishReason, GenerationTimings } from '../session.js';
import { ApiError } from './errors.js';
import type { ChatBody, GenerationBody } from './schemas.js';

export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

/** llama-server's `timings` object. */
export interface LlamaTimings {
  cache_n: number;
  prompt_n: number;
  prompt_ms: number;
  prompt_per_token_ms: number;
  prompt_per_second: number;
  predicted_n: number;
  predicted_ms: number;
  predicted_per_token_ms: number;
  predicted_per_second: number;
}

export interface ServerDefaults {
  /** max_tokens when a request gives none. */
  readonly maxTokens: number;
}

/**
 * The engine's generation options for a request (OpenAI's defaults: temperature 1, top_p 1). Values the schema
 * lets through but the engine refuses are reported by its validator, whose field names are mapped back.
 * @throws ApiError 400 for n != 1 or a logit_bias token outside the vocabulary.
 */
export function generationOptions(body: GenerationBody & { readonly max_completion_tokens?: number | null }, vocabSize: number, defaults: ServerDefaults): GenerationOptions {
  if (body.n != null && body.n !== 1) throw new ApiError(400, 'invalid_request_error', `n = ${body.n}: only n = 1 is supported`, 'n', 'unsupported_value');
  const set = <K extends keyof GenerationOptions>(out: Record<string, unknown>, key: K, value: GenerationOptions[K] | null | undefined): void => {
    if (value !== null && value !== undefined) out[key] = value;
  };
  const options: Record<string, unknown> = {};
  set(options, 'maxTokens', body.max_completion_tokens ?? body.max_tokens ?? defaults.maxTokens);
  set(options, 'temperature', body.temperature ?? 1);
  set(options, 'topP', body.top_p === 0 ? Number.MIN_VALUE : body.top_p);
  set(options, 'topK', body.top_k);
  set(options, 'minP', body.min_p);
  set(options, 'typicalP', body.typical_p === 0 ? Number.MIN_VALUE : body.typical_p);
  set(options, 'repeatPenalty', body.repeat_penalty);
  set(options, 'repeatLastN', body.repeat_last_n);
  set(options, 'presencePenalty', body.presence_penalty);
  set(options, 'frequencyPenalty', body.frequency_penalty);
  // llama.cpp: a negative seed means "random".
  if (body.seed != null && body.seed >= 0) set(options, 'seed', body.seed);
  if (body.stop != null) set(options, 'stop', typeof body.stop === 'string' ? [body.stop] : [...body.stop]);
  if (body.logit_bias != null) {
    const bias: Record<number, number> = {};
    for (const [key, value] of Object.entries(body.logit_bias)) {
      const id = Number(key);
      if (id >= vocabSize) throw new ApiError(400, 'invalid_request_error', `logit_bias names token ${id}, but the vocabulary has ${vocabSize} tokens`, `logit_bias.${key}`, 'token_out_of_range');
      // OpenAI: -100 bans the token, 100 forces it.
      bias[id] = value <= -100 ? Number.NEGATIVE_INFINITY : value;
    }
    options.logitBias = bias;
  }
  Object.assign(options, structuredOutput(body));
  return options as GenerationOptions;
}

/**
 * `response_format`, `grammar` and `json_schema` as the engine's `grammar` / `jsonSchema` (at most one of
 * them), checked here so that a bad grammar or schema is a 400 naming the field the client sent.
 */
function structuredOutput(body: GenerationBody): { grammar?: string; jsonSchema?: object } {
  const given: Array<[string, { grammar?: string; jsonSchema?: object }]> = [];
  const format = body.response_format;
  if (format != null && format.type !== 'text') {
    if (format.type === 'json_object') given.push(['response_format', { grammar: jsonObjectGbnf() }]);
    else if (format.json_schema === undefined) throw new ApiError(400, 'invalid_request_error', "response_format of type json_schema needs json_schema: { schema }", 'response_format.json_schema', 'invalid_value');
    else given.push(['response_format.json_schema.schema', { jsonSchema: format.json_schema.schema }]);
  }
  if (body.grammar != null) given.push(['grammar', { grammar: body.grammar }]);
  if (body.json_schema != null) given.push(['json_schema', { jsonSchema: body.json_schema }]);
  if (given.length === 0) return {};
  if (given.length > 1) throw new ApiError(400, 'invalid_request_error', `${given.map(([param]) => param).join(' and ')}: give only one way to constrain the output`, given[1]![0], 'invalid_value');
  const [param, option] = given[0]!;
  try {
    validateGenerationOptions(option);
  } catch (error) {
    throw new ApiError(400, 'invalid_request_error', (error as Error).message, param, (error as { code?: string }).code?.toLowerCase() ?? 'invalid_value');
  }
  return option;
}

/** The messages as the chat template takes them (content parts joined as text; null content = empty). */
export function chatMessages(body: ChatBody): ChatMessage[] {
  return body.messages.map((m, i) => {
    const content =
      m.content == null
        ? ''
        : typeof m.content === 'string'
          ? m.content
          : m.content
              .map((part, j) => {
                if (part.type !== 'text' || typeof part.text !== 'string') {
                  throw new ApiError(400, 'invalid_request_error', `content part type '${part.type}' is not supported (only text)`, `messages[${i}].content[${j}]`, 'unsupported_content');
                }
                return part.text;
              })
              .join('');
    // `developer` is OpenAI's new name for the system role; templates know only `system`.
    return { role: m.role === 'developer' ? 'system' : m.role, content, ...(m.name === undefined ? {} : { name: m.name }) };
  });
}

/** `length` when the answer was cut off (even after a call: what followed it is incomplete), else `tool_calls` when it called tools. */
export function finishReasonOf(reason: FinishReason, toolCalls = false): 'stop' | 'length' | 'tool_calls' {
  if (reason === 'length') return 'length';
  return toolCalls ? 'tool_calls' : 'stop';
}

export function usageOf(t: GenerationTimings): OpenAiUsage {
  return {
    prompt_tokens: t.promptTokens,
    completion_tokens: t.generatedTokens,
    total_tokens: t.promptTokens + t.generatedTokens,
    prompt_tokens_details: { cached_tokens: t.cachedTokens },
  };
}

export function timingsOf(t: GenerationTimings): LlamaTimings {
  const perToken = (ms: number, n: number): number => (n > 0 ? ms / n : 0);
  const perSecond = (ms: number, n: number): number => (n > 0 && ms > 0 ? (n / ms) * 1000 : 0);
  return {
    cache_n: t.cachedTokens,
    prompt_n: t.promptEvaluated,
    prompt_ms: t.promptMs,
    prompt_per_token_ms: perToken(t.promptMs, t.promptEvaluated),
    prompt_per_second: perSecond(t.promptMs, t.promptEvaluated),
    predicted_n: t.generatedTokens,
    predicted_ms: t.generateMs,
    predicted_per_token_ms: perToken(t.generateMs, t.generatedTokens),
    predicted_per_second: t.tokensPerSecond,
  };
}

export type Endpoint = 'chat' | 'completion';

/** Builds the response bodies and stream chunks of one request (one id and creation time for all of them). */
export class ResponseShaper {
  readonly id: string;
  readonly created = Math.floor(Date.now() / 1000);

  constructor(
    readonly endpoint: Endpoint,
    readonly model: string,
  ) {
    this.id = `${endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`;
  }

  private head(object: string): { id: string; object: string; created: number; model: string; system_fingerprint: string } {
    return { id: this.id, object, created: this.created, model: this.model, system_fingerprint: 'smallmind' };
  }

  /** The whole answer; with `toolCalls` (a chat that called tools) the content is null when empty, as OpenAI's. */
  complete(text: string, reason: FinishReason, timings: GenerationTimings, toolCalls?: readonly ToolCall[]): Record<string, unknown> {
    const called = toolCalls !== undefined && toolCalls.length > 0;
    const finish_reason = finishReasonOf(reason, called);
    const message = called ? { role: 'assistant', content: text === '' ? null : text, refusal: null, tool_calls: toolCalls } : { role: 'assistant', content: text, refusal: null };
    const choice =
      this.endpoint === 'chat'
        ? { index: 0, message, logprobs: null, finish_reason }
        : { index: 0, text, logprobs: null, finish_reason };
    return { ...this.head(this.endpoint === 'chat' ? 'chat.completion' : 'text_completion'), choices: [choice], usage: usageOf(timings), timings: timingsOf(timings) };
  }

  /** A stream chunk carrying `text` (the first chat chunk also carries the role). */
  delta(text: string, first: boolean): Record<string, unknown> {
    const choice =
      this.endpoint === 'chat'
        ? { index: 0, delta: first ? { role: 'assistant', content: text } : { content: text }, logprobs: null, finish_reason: null }
        : { index: 0, text, logprobs: null, finish_reason: null };
    return { ...this.head(this.endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion'), choices: [choice] };
  }

  /** A chat stream chunk carrying one tool-call delta (`delta.tool_calls[0]`), with the role on the first chunk. */
  toolDelta(toolCall: Extract<ToolStreamDelta, { toolCall: unknown }>['toolCall'], first: boolean): Record<string, unknown> {
    const delta = first ? { role: 'assistant', content: null, tool_calls: [toolCall] } : { tool_calls: [toolCall] };
    return { ...this.head('chat.completion.chunk'), choices: [{ index: 0, delta, logprobs: null, finish_reason: null }] };
  }

  /** The chunk with the finish reason (`tool_calls` when the answer called tools) and llama-server's timings. */
  finish(reason: FinishReason, timings: GenerationTimings, toolCalls = false): Record<string, unknown> {
    const finish_reason = finishReasonOf(reason, toolCalls);
    const choice = this.endpoint === 'chat' ? { index: 0, delta: {}, logprobs: null, finish_reason } : { index: 0, text: '', logprobs: null, finish_reason };
    return { ...this.head(this.endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion'), choices: [choice], timings: timingsOf(timings) };
  }

  /** `stream_options.include_usage`: a last chunk with no choices and the usage. */
  usage(timings: GenerationTimings): Record<string, unknown> {
    return { ...this.head(this.endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion'), choices: [], usage: usageOf(timings) };
  }
}
