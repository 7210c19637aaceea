/**
 * What every SmallMindEngine does once a model is in its inference worker, whatever the platform: sessions,
 * chats, one-call generation, tokenizing, chat rendering and disposal. The Node engine (engine.ts) and the
 * browser engine (browser/engine.ts) differ only in how the worker starts and how a model gets loaded.
 */
import { jsonSchemaToGbnf, type EmbedPooling, type KvType } from '@smallmind/runtime';
import { vocabularyMarkers, type ChatMessage } from './chat/index.js';
import { EngineError } from './errors.js';
import { ChatSession, EngineSession, type ChatSessionOptions, type GenerationResult, type StreamOptions } from './session.js';
import type { EmbedInput, WorkerEmbedOptions, WorkerEmbedResult } from './worker/protocol.js';
import type { WorkerClient } from './worker/worker-client.js';

export interface SessionOptions {
  /** Tokens the session's KV cache holds (default: the engine's context length). */
  readonly contextSize?: number;
  /** `f32` (default) or `f16` (half the memory). */
  readonly kvType?: KvType;
}

export interface GenerateOptions extends StreamOptions {
  /** Receives the text as it is produced, never splitting a UTF-8 character. */
  readonly onText?: (text: string) => void;
}

export interface GenerateResult extends GenerationResult {
  /** Prompt tokens (= timings.promptTokens). */
  readonly promptTokens: number;
  /** Prompt evaluation time (= timings.promptMs). */
  readonly prefillMs: number;
  /** Generation time (= timings.generateMs). */
  readonly decodeMs: number;
}

/** `embed` options: pooling (default the file's `{arch}.pooling_type`), normalisation (default L2), truncation. */
export type EmbedOptions = WorkerEmbedOptions;

export interface EmbedResult {
  /** One vector per input, in order (L2-normalised unless `normalize: false`). */
  readonly embeddings: Float32Array[];
  /** Tokens evaluated per input (BERT: with [CLS] and [SEP]). */
  readonly tokens: number[];
  /** Their sum (OpenAI's usage.prompt_tokens). */
  readonly promptTokens: number;
  readonly pooling: EmbedPooling;
}

export abstract class EngineCore<Info extends { readonly contextLength: number; readonly chatTemplate: string | undefined }> {
  protected client: WorkerClient | undefined;
  protected loaded: Info | undefined;
  protected disposed = false;

  /** Starts the platform's inference worker (called once, on first use). */
  protected abstract startWorker(): WorkerClient;

  /** What is loaded (undefined before `loadModel`). */
  get model(): Info | undefined {
    return this.loaded;
  }

  protected worker(): WorkerClient {
    if (this.disposed) throw new EngineError('ENGINE_DISPOSED', 'engine', 'the engine has been disposed');
    this.client ??= this.startWorker();
    return this.client;
  }

  protected requireModel(): { client: WorkerClient; info: Info } {
    const info = this.loaded;
    if (info === undefined || this.client === undefined) throw new EngineError('NO_MODEL_LOADED', 'model', 'call loadModel() first');
    return { client: this.client, info };
  }

  /** A new session with its own KV cache in the worker. */
  async createSession(options: SessionOptions = {}): Promise<EngineSession> {
    const { client, info } = this.requireModel();
    const created = await client.request<{ session: number; contextSize: number }>({
      type: 'session.create',
      options: { contextSize: options.contextSize ?? info.contextLength, ...(options.kvType === undefined ? {} : { kvType: options.kvType }) },
    });
    return new EngineSession(client, created.session, created.contextSize);
  }

  /** A chat over a new session, rendered with the model's chat template (or `options.template`). */
  async createChat(options: ChatSessionOptions & SessionOptions = {}): Promise<ChatSession> {
    const { contextSize, kvType, ...chat } = options;
    const session = await this.createSession({ ...(contextSize === undefined ? {} : { contextSize }), ...(kvType === undefined ? {} : { kvType }) });
    // Tools need the template's text and the vocabulary's markers to find the call format.
    const markers = chat.tools === undefined ? undefined : await vocabularyMarkers((text) => this.tokenize(text, { addBos: false, parseSpecial: true }));
    return new ChatSession(session, chat, { modelTemplate: this.requireModel().info.chatTemplate, schemaToGbnf: jsonSchemaToGbnf, ...(markers === undefined ? {} : { hasToken: markers }) });
  }

  /**
   * Continues `prompt` in a fresh session (greedy unless a temperature > 0 is given). `onText` receives the
   * text as it streams; `signal` stops it within a token.
   */
  async generate(prompt: string, options: GenerateOptions = {}): Promise<GenerateResult> {
    this.requireModel();
    const { onText, ...rest } = options;
    const session = await this.createSession();
    try {
      const run = session.stream(prompt, rest);
      for await (const chunk of run) if (chunk.text.length > 0) onText?.(chunk.text);
      const result = await run.result;
      return { ...result, promptTokens: result.timings.promptTokens, prefillMs: result.timings.promptMs, decodeMs: result.timings.generateMs };
    } finally {
      await session.dispose();
    }
  }

  /**
   * Embeddings of texts (tokenized with the model's special tokens: [CLS] ... [SEP] for BERT) or token arrays,
   * one vector each, pooled as the file says (`bert` encoders, or decoders with a
   * `{arch}.pooling_type`) or as `options.pooling` says. An input longer than the model's context fails
   * (CONTEXT_OVERFLOW) unless `truncate`.
   */
  async embed(input: EmbedInput | readonly EmbedInput[], options: EmbedOptions = {}): Promise<EmbedResult> {
    const { client } = this.requireModel();
    const inputs: readonly EmbedInput[] = typeof input === 'string' || (input.length > 0 && typeof input[0] === 'number') ? [input as EmbedInput] : (input as readonly EmbedInput[]);
    const result = await client.request<WorkerEmbedResult>({ type: 'embed', inputs, options });
    return { ...result, promptTokens: result.tokens.reduce((a, b) => a + b, 0) };
  }

  /** Token ids of `text` (control tokens in the text parsed only with `parseSpecial`). */
  async tokenize(text: string, options: { readonly addBos?: boolean; readonly parseSpecial?: boolean } = {}): Promise<number[]> {
    const { client } = this.requireModel();
    return client.request<number[]>({ type: 'tokenize', text, ...options });
  }

  /** The text of token ids. */
  async detokenize(tokens: readonly number[]): Promise<string> {
    const { client } = this.requireModel();
    return client.request<string>({ type: 'detokenize', tokens });
  }

  /** The prompt text the chat template renders for `messages` (exactly, no newline added). */
  async renderChat(messages: readonly ChatMessage[], options: { readonly template?: string; readonly addGenerationPrompt?: boolean; readonly tools?: readonly unknown[] } = {}): Promise<string> {
    const { client } = this.requireModel();
    return client.request<string>({
      type: 'chat.render',
      messages,
      addGenerationPrompt: options.addGenerationPrompt ?? true,
      ...(options.template === undefined ? {} : { template: options.template }),
      ...(options.tools === undefined ? {} : { tools: options.tools }),
    });
  }

  /** Stops the worker (and its kernel threads); the engine cannot be used afterwards. */
  async dispose(): Promise<void> {
    this.disposed = true;
    this.loaded = undefined;
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      await client.request({ type: 'unload' }).catch(() => {});
      await client.terminate();
    }
  }
}
