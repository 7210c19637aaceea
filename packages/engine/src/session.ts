/**
 * Sessions as the caller sees them: a conversation whose KV cache lives in the inference worker. `stream`
 * yields text pieces as they are generated; `generate` returns the whole result. A session keeps its cache
 * between calls, so a prompt that extends (or shares a prefix with) what it already holds evaluates only
 * the new tokens.
 */
import { jsonObjectGbnf } from '@smallmind/runtime';
import { prepareToolTurn, selectChatTemplate, type ChatMessage, type SchemaToGbnf, type ToolCall, type ToolChoice, type ToolDefinition, type ToolTurn } from './chat/index.js';
import { EngineError } from './errors.js';
import { validateGenerationOptions, type GenerationOptions } from './generation/index.js';
import type { GenerateInput, WorkerGenerateResult } from './worker/protocol.js';
import type { WorkerClient } from './worker/worker-client.js';

export type { FinishReason, GenerationTimings } from './worker/protocol.js';

/** OpenAI's `response_format`: plain text, any JSON object, or JSON valid under a schema. */
export type ResponseFormat =
  | { readonly type: 'text' }
  | { readonly type: 'json_object' }
  | { readonly type: 'json_schema'; readonly json_schema: { readonly schema: object; readonly name?: string; readonly strict?: boolean | null; readonly description?: string } };

export interface StreamOptions extends GenerationOptions {
  /** Constrains the output to JSON (`json_object`) or to a schema (`json_schema`); not together with `grammar` / `jsonSchema`. */
  readonly responseFormat?: ResponseFormat;
  /** Stops generation within one token (a prompt within one prefill pass); the session stays usable. */
  readonly signal?: AbortSignal;
  /** Prompt tokens per prefill pass (default 128): how soon an abort during a long prompt is seen. */
  readonly prefillChunk?: number;
}

/** One piece of generated text. */
export interface GenerationChunk {
  /** Text that became safe to show (never half a UTF-8 character or a possible stop-string start). */
  readonly text: string;
  /** Token ids generated since the previous chunk. */
  readonly tokens: readonly number[];
}

/**
 * What a generation returns, exactly as the worker sends it: text, tokens, `finishReason` (`eos`: an
 * end-of-generation token; `stop`: a stop string; `length`: maxTokens or the window; `abort`: the signal), the
 * matched `stop`, `droppedMessages` (chat turns left out to fit the window) and `timings`.
 */
export type GenerationResult = WorkerGenerateResult;

export type Prompt = string | { readonly tokens: readonly number[] };

/** The options as the worker takes them, checked once by the shared option table. */
export function workerOptions(options: StreamOptions): { options: import('./worker/protocol.js').WorkerGenerateOptions; signal: AbortSignal | undefined } {
  const { signal, prefillChunk, responseFormat, ...rest } = options;
  const checked = validateGenerationOptions({ ...rest, ...constraintOf(responseFormat, rest) });
  const chunk = prefillChunk ?? 128;
  if (!Number.isSafeInteger(chunk) || chunk < 1) throw new EngineError('INVALID_OPTION', 'prefillChunk', `prefillChunk = ${String(chunk)} must be a positive integer`);
  const { maxTokens, stop, addBos: _addBos, ...sampling } = checked;
  // Greedy unless a temperature is given (the CLI and the server pass their own defaults).
  return { options: { temperature: 0, ...sampling, maxTokens: maxTokens ?? 128, stop: stop ?? [], prefillChunk: chunk }, signal };
}

/** `responseFormat` as the `grammar` / `jsonSchema` option it stands for. */
function constraintOf(format: ResponseFormat | undefined, options: GenerationOptions): { grammar?: string; jsonSchema?: object } {
  const bad = (message: string): EngineError => new EngineError('INVALID_OPTION', 'responseFormat', `responseFormat: ${message}`);
  if (options.grammar !== undefined && options.jsonSchema !== undefined) throw new EngineError('INVALID_OPTION', 'jsonSchema', 'give either grammar or jsonSchema, not both');
  if (format === undefined) return {};
  if (typeof format !== 'object' || format === null) throw bad('expected an object with a type');
  if (format.type === 'text') return {};
  if (options.grammar !== undefined || options.jsonSchema !== undefined) throw bad(`${format.type} cannot be combined with grammar or jsonSchema`);
  if (format.type === 'json_object') return { grammar: jsonObjectGbnf() };
  if (format.type === 'json_schema') {
    const schema = (format.json_schema as { schema?: unknown } | undefined)?.schema;
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw bad('json_schema.schema must be a JSON schema object');
    return { jsonSchema: schema };
  }
  throw bad(`unknown type ${JSON.stringify((format as { type?: unknown }).type)} (text, json_object or json_schema)`);
}

/**
 * Runs one generation request and exposes it both as an async iterator of chunks and as a promise of the
 * result. Chunks are buffered until read, so neither form loses any.
 */
export class GenerationRun implements AsyncIterable<GenerationChunk> {
  readonly result: Promise<GenerationResult>;
  private readonly queue: GenerationChunk[] = [];
  private wake: (() => void) | undefined;
  private finished = false;

  constructor(client: WorkerClient, body: { session: number; input: GenerateInput; options: StreamOptions }, refusal?: EngineError) {
    if (refusal !== undefined) {
      this.finished = true;
      this.result = Promise.reject(refusal);
      this.result.catch(() => {});
      return;
    }
    const { options, signal } = workerOptions(body.options);
    let requestId: number | undefined;
    const onAbort = (): void => {
      if (requestId !== undefined) client.abort(requestId);
    };
    if (signal?.aborted === true) {
      this.finished = true;
      this.result = Promise.resolve({
        text: '',
        tokens: [],
        finishReason: 'abort',
        droppedMessages: 0,
        timings: { promptTokens: 0, cachedTokens: 0, promptEvaluated: 0, promptMs: 0, generatedTokens: 0, generateMs: 0, tokensPerSecond: 0 },
      });
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    this.result = client
      .request<WorkerGenerateResult>(
        { type: 'session.generate', session: body.session, input: body.input, options },
        { onChunk: (text, tokens) => this.push({ text, tokens }) },
        (id) => {
          requestId = id;
        },
      )
      .finally(() => {
        signal?.removeEventListener('abort', onAbort);
        this.finished = true;
        this.wake?.();
      });
    // The iterator reports failures; an unread result must not become an unhandled rejection.
    this.result.catch(() => {});
  }

  private push(chunk: GenerationChunk): void {
    this.queue.push(chunk);
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<GenerationChunk> {
    for (;;) {
      const next = this.queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.finished) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
    await this.result;
  }
}

/** A conversation over the engine's model, with its own KV cache in the worker. */
export class EngineSession {
  private disposed = false;
  /** The generation in flight: a second one is refused here, at once, not when (or if) the worker sees both. */
  private running: GenerationRun | undefined;

  constructor(
    private readonly client: WorkerClient,
    readonly id: number,
    /** Tokens the session's KV cache holds at most. */
    readonly contextSize: number,
  ) {}

  /** Continues `prompt` (text is tokenized with the model's BOS rule; or exact token ids). */
  stream(prompt: Prompt, options: StreamOptions = {}): GenerationRun {
    return this.run(inputOf(prompt, options.addBos), options);
  }

  /** `stream` as one promise. */
  generate(prompt: Prompt, options: StreamOptions = {}): Promise<GenerationResult> {
    return this.stream(prompt, options).result;
  }

  /** Runs a generation from any input (chat sessions render messages). */
  run(input: GenerateInput, options: StreamOptions): GenerationRun {
    if (this.disposed) throw new EngineError('SESSION_DISPOSED', 'session', 'the session has been disposed');
    const body = { session: this.id, input, options };
    if (this.running !== undefined) {
      return new GenerationRun(this.client, body, new EngineError('SESSION_BUSY', 'session', `session ${this.id} is already generating; wait for it or use another session`));
    }
    const run = new GenerationRun(this.client, body);
    this.running = run;
    // Registered before any caller's reaction to `result`, so a caller that awaited it may start the next one.
    const done = (): void => {
      if (this.running === run) this.running = undefined;
    };
    run.result.then(done, done);
    return run;
  }

  /** Drops cached tokens past `length` (0: forget everything). */
  async truncate(length: number): Promise<void> {
    if (!Number.isSafeInteger(length) || length < 0) throw new EngineError('INVALID_OPTION', 'length', `truncate(${String(length)}): length must be a non-negative integer`);
    await this.client.request({ type: 'session.truncate', session: this.id, length });
  }

  async reset(): Promise<void> {
    await this.truncate(0);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.client.request({ type: 'session.dispose', session: this.id }).catch(() => {});
  }
}

function inputOf(prompt: Prompt, addBos: boolean | undefined): GenerateInput {
  if (typeof prompt === 'string') return { kind: 'text', text: prompt, ...(addBos === undefined ? {} : { addBos }) };
  return { kind: 'tokens', tokens: prompt.tokens };
}

export interface ChatSessionOptions {
  /** A system message put first in every rendering. */
  readonly system?: string;
  /** A Jinja chat template (or `chatml` / `plain`) instead of the model's `tokenizer.chat_template`. */
  readonly template?: string;
  /**
   * When the conversation no longer fits the context window (with room for the answer): `truncate-history`
   * (default) drops the oldest turns after the system message until it fits; `error` fails with CONTEXT_FULL.
   */
  readonly contextOverflow?: 'truncate-history' | 'error';
  /**
   * Tools the model may call (OpenAI's `{ type: 'function', function: { name, description, parameters } }`):
   * rendered where the template takes them (or into the system prompt), and each answer is read into `toolCalls`.
   */
  readonly tools?: readonly ToolDefinition[];
  /** `auto` (default), `none`, `required` or `{ type: 'function', function: { name } }` (the last two constrain the answer by grammar). */
  readonly toolChoice?: ToolChoice;
  /** More than one call per answer under `required` (default true). */
  readonly parallelToolCalls?: boolean;
}

/** A chat message the caller adds: a user turn, or a tool's result (`{ role: 'tool', tool_call_id, content }`). */
export type ChatInput = string | ChatMessage;

/** A chat answer: the generation, its visible `content` (the call markup removed) and the `toolCalls` it made. */
export interface ChatReply extends GenerationResult {
  readonly content: string;
  readonly toolCalls: ToolCall[];
}

/** What a chat needs of its model to use tools (given by `SmallMindEngine.createChat`). */
export interface ChatToolContext {
  /** The model's chat template text (used when the options give none). */
  readonly modelTemplate: string | undefined;
  /** Single-token markers of the vocabulary (format detection falls back on them). */
  readonly hasToken?: (text: string) => boolean;
  readonly schemaToGbnf?: SchemaToGbnf;
}

/**
 * A chat: the message history rendered with the model's chat template at every turn. The KV cache persists
 * between turns, so each turn evaluates only what the new rendering adds after the common prefix.
 */
export class ChatSession {
  readonly messages: ChatMessage[] = [];

  private readonly replies = new WeakMap<Promise<GenerationResult>, Promise<ChatReply>>();

  constructor(
    readonly session: EngineSession,
    private readonly options: ChatSessionOptions = {},
    private readonly toolContext: ChatToolContext = { modelTemplate: undefined },
  ) {
    if (options.system !== undefined) this.messages.push({ role: 'system', content: options.system });
  }

  /**
   * Adds a user message and streams the assistant's answer; the answer joins the history when done (an
   * aborted one as far as it got). Turns dropped to fit the window leave the history too.
   */
  stream(input: ChatInput, options: StreamOptions = {}): GenerationRun {
    this.messages.push(typeof input === 'string' ? { role: 'user', content: input } : input);
    let turn: ToolTurn | undefined;
    try {
      turn = this.toolTurn();
    } catch (error) {
      this.messages.pop();
      throw error;
    }
    const run = this.session.run(
      {
        kind: 'chat',
        messages: turn?.messages ?? [...this.messages],
        overflow: this.options.contextOverflow ?? 'truncate-history',
        ...(this.options.template === undefined ? {} : { template: this.options.template }),
        ...(turn?.tools === undefined ? {} : { tools: turn.tools }),
      },
      turn?.grammar === undefined ? options : { ...options, grammar: turn.grammar },
    );
    const reply = run.result.then(
      (result): ChatReply => {
        const keep = this.messages[0]?.role === 'system' ? 1 : 0;
        this.messages.splice(keep, result.droppedMessages);
        const parsed = turn === undefined ? { content: result.text, toolCalls: [] } : turn.parse(result.text);
        this.messages.push(parsed.toolCalls.length === 0 ? { role: 'assistant', content: parsed.content } : { role: 'assistant', content: parsed.content, tool_calls: parsed.toolCalls });
        return { ...result, ...parsed };
      },
      (error: unknown) => {
        this.messages.pop();
        throw error;
      },
    );
    reply.catch(() => {});
    this.replies.set(run.result, reply);
    return run;
  }

  /**
   * `stream` as one promise: the answer with its `content` and `toolCalls`. Send a tool's result back with
   * `send({ role: 'tool', tool_call_id: call.id, content: '...' })`.
   */
  send(input: ChatInput, options: StreamOptions = {}): Promise<ChatReply> {
    const run = this.stream(input, options);
    return this.replies.get(run.result)!;
  }

  /** The tool turn of the history, when tools are offered or the history holds calls or results. */
  private toolTurn(): ToolTurn | undefined {
    const { tools, toolChoice, parallelToolCalls } = this.options;
    const historyHasTools = this.messages.some((m) => m.role === 'tool' || m.tool_calls !== undefined);
    if ((tools === undefined || tools.length === 0) && toolChoice === undefined && !historyHasTools) return undefined;
    const { modelTemplate, hasToken, schemaToGbnf } = this.toolContext;
    return prepareToolTurn({
      template: selectChatTemplate(modelTemplate, this.options.template),
      messages: this.messages,
      ...(tools === undefined ? {} : { tools }),
      ...(toolChoice === undefined ? {} : { toolChoice }),
      ...(parallelToolCalls === undefined ? {} : { parallelToolCalls }),
      ...(hasToken === undefined ? {} : { hasToken }),
      ...(schemaToGbnf === undefined ? {} : { schemaToGbnf }),
    });
  }

  /** Forgets the conversation (keeps the system message) and empties the cache. */
  async reset(): Promise<void> {
    this.messages.splice(this.options.system === undefined ? 0 : 1);
    await this.session.reset();
  }
}
