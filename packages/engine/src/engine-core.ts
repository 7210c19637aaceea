/**
 * What every SmallMindEngine does once a model is in its inference worker, whatever the platform: sessions,
 * chats, one-call generation, tokenizing, chat rendering and disposal. The Node engine (engine.ts) and the
 * browser engine (browser/engine.ts) differ only in how the worker starts and how a model gets loaded.
 */
import type { KvType } from '@smallmind/runtime';
import type { ChatMessage } from './chat/index.js';
import { EngineError } from './errors.js';
import { ChatSession, EngineSession, type ChatSessionOptions, type GenerationResult, type StreamOptions } from './session.js';
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

export abstract class EngineCore<Info extends { readonly contextLength: number }> {
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
    return new ChatSession(session, chat);
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
  async renderChat(messages: readonly ChatMessage[], options: { readonly template?: string; readonly addGenerationPrompt?: boolean } = {}): Promise<string> {
    const { client } = this.requireModel();
    return client.request<string>({
      type: 'chat.render',
      messages,
      addGenerationPrompt: options.addGenerationPrompt ?? true,
      ...(options.template === undefined ? {} : { template: options.template }),
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
