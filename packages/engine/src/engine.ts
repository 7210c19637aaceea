/**
 * The facade. The model lives in an inference worker (worker_threads): loading, prompt evaluation and
 * generation run there, so the caller's event loop stays free (a server keeps answering while a model
 * generates). Everything here is async; text streams back as it is generated.
 */
import type { GgufImportProgress } from '@smallmind/io-gguf';
import { consoleLogger, jsonSchemaToGbnf, type KvType, type Logger } from '@smallmind/runtime';
import { vocabularyMarkers, type ChatMessage } from './chat/index.js';
import { EngineError } from './errors.js';
import { fileIdentity, healModelFile, resolveModelFile, type ModelFile } from './model-loading.js';
import { defaultCacheDir } from './model-cache.js';
import { ChatSession, EngineSession, type ChatSessionOptions, type FinishReason, type GenerationResult, type GenerationTimings, type StreamOptions } from './session.js';
import type { WorkerModelInfo } from './worker/protocol.js';
import { WorkerClient } from './worker/worker-client.js';

export interface SmallMindEngineOptions {
  /** Where load and import messages go (console by default: info and up). */
  readonly logger?: Logger;
  /** Messages the worker forwards (default `info`; `debug` adds kernel details). */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Directory for SMQ files imported from GGUF (default `$SMALLMIND_CACHE_DIR` or `~/.cache/smallmind`). */
  readonly cacheDir?: string;
  /** Threads for the matrix kernels, the worker's own thread included (default: all cores, at most 8). */
  readonly threads?: number;
  /** `wasm` (default): WebAssembly SIMD kernels; `reference`: the plain TypeScript kernels. */
  readonly kernels?: 'wasm' | 'reference';
  /**
   * Most bytes the cache directory may hold: after each GGUF load, the least recently used other entries
   * are evicted beyond it (default: no cap; `smallmind cache prune --max-size` does the same by hand).
   */
  readonly cacheMaxBytes?: number;
}

/** Progress of reading an SMQ file's weights into the kernels' memory. */
export interface LoadProgress {
  /** Bytes of matrix weights loaded so far. */
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly tensorsDone: number;
  readonly tensorsTotal: number;
}

export interface LoadModelOptions {
  /** A `.gguf` file (imported to SMQ once, then cached) or a `.smq` file. */
  readonly path: string;
  /** Keep weights in their block format (default true); `false` dequantizes them to F32. */
  readonly preserveQuantization?: boolean;
  /** Default context window of sessions (default min(the file's, 4096)). */
  readonly contextLength?: number;
  /** Progress of a GGUF -> SMQ import (only called when an import actually runs). */
  readonly onImportProgress?: (progress: Pick<GgufImportProgress, 'bytesDone' | 'bytesTotal' | 'tensorsDone' | 'tensorsTotal'>) => void;
  /** Progress of reading the weights, after each matrix. */
  readonly onLoadProgress?: (progress: LoadProgress) => void;
}

export interface ModelInfo {
  /** The SMQ file the model was loaded from (for a GGUF: the cached import). */
  readonly smqPath: string;
  /** True when this call imported the GGUF file (false: cache hit, or an SMQ path). */
  readonly imported: boolean;
  readonly architecture: string;
  /** The default context window of sessions. */
  readonly contextLength: number;
  /** The model's own context length (`{arch}.context_length`). */
  readonly trainedContextLength: number;
  readonly vocabSize: number;
  readonly kernels: string;
  /** The file's `tokenizer.chat_template`, if any. */
  readonly chatTemplate: string | undefined;
}

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

export type { FinishReason, GenerationTimings };

export class SmallMindEngine {
  private readonly logger: Logger;
  private readonly cacheDir: string;
  private client: WorkerClient | undefined;
  private loaded: ModelInfo | undefined;
  private disposed = false;

  constructor(private readonly options: SmallMindEngineOptions = {}) {
    this.logger = options.logger ?? consoleLogger;
    this.cacheDir = options.cacheDir ?? defaultCacheDir();
    const cap = options.cacheMaxBytes;
    if (cap !== undefined && (!Number.isSafeInteger(cap) || cap < 0)) {
      throw new EngineError('INVALID_OPTION', 'cacheMaxBytes', `cacheMaxBytes = ${cap} must be a non-negative integer (bytes)`);
    }
    const threads = options.threads;
    if (threads !== undefined && (!Number.isSafeInteger(threads) || threads < 1)) {
      throw new EngineError('INVALID_OPTION', 'threads', `threads = ${threads} must be a positive integer`);
    }
  }

  /** What is loaded (undefined before `loadModel`). */
  get model(): ModelInfo | undefined {
    return this.loaded;
  }

  private worker(): WorkerClient {
    if (this.disposed) throw new EngineError('ENGINE_DISPOSED', 'engine', 'the engine has been disposed');
    this.client ??= new WorkerClient((level, message) => this.logger[level](message));
    return this.client;
  }

  private requireModel(): { client: WorkerClient; info: ModelInfo } {
    const info = this.loaded;
    if (info === undefined || this.client === undefined) throw new EngineError('NO_MODEL_LOADED', 'model', 'call loadModel() first');
    return { client: this.client, info };
  }

  /** Loads a model into the worker, replacing the previous one (which is released first). */
  async loadModel(options: LoadModelOptions): Promise<ModelInfo> {
    if (this.disposed) throw new EngineError('ENGINE_DISPOSED', 'engine', 'the engine has been disposed');
    const contextLength = options.contextLength;
    if (contextLength !== undefined && (!Number.isSafeInteger(contextLength) || contextLength < 1)) {
      throw new EngineError('INVALID_OPTION', 'contextLength', `contextLength = ${contextLength} must be a positive integer`);
    }
    this.loaded = undefined;
    const resolveOptions = { path: options.path, cacheDir: this.cacheDir, ...(this.options.cacheMaxBytes === undefined ? {} : { cacheMaxBytes: this.options.cacheMaxBytes }) };
    // The import runs here, on the caller's thread: signals reach only the main thread, and an interrupted
    // import must remove its temporary file. The worker loads the SMQ file.
    const onImport = (bytesDone: number, bytesTotal: number, tensorsDone: number, tensorsTotal: number): void =>
      options.onImportProgress?.({ bytesDone, bytesTotal, tensorsDone, tensorsTotal });
    let file: ModelFile = await resolveModelFile(resolveOptions, this.logger, onImport);
    const client = this.worker();
    const load = (smqPath: string): Promise<WorkerModelInfo> =>
      client.request<WorkerModelInfo>(
        {
          type: 'load',
          options: {
            path: smqPath,
            logLevel: this.options.logLevel ?? 'info',
            ...(options.preserveQuantization === undefined ? {} : { preserveQuantization: options.preserveQuantization }),
            ...(this.options.threads === undefined ? {} : { threads: this.options.threads }),
            ...(this.options.kernels === undefined ? {} : { kernels: this.options.kernels }),
          },
        },
        { onProgress: (_phase, bytesDone, bytesTotal, tensorsDone, tensorsTotal) => options.onLoadProgress?.({ bytesDone, bytesTotal, tensorsDone, tensorsTotal }) },
      );
    const before = await fileIdentity(file.smqPath);
    let info: WorkerModelInfo;
    try {
      info = await load(file.smqPath);
    } catch (error) {
      const healed = await healModelFile(file, error, resolveOptions, this.logger, before);
      if (healed === undefined) throw error;
      file = healed;
      info = await load(file.smqPath);
    }
    const cap = Math.min(info.contextLength, 4096);
    this.loaded = {
      smqPath: file.smqPath,
      imported: file.imported,
      architecture: info.architecture,
      contextLength: contextLength === undefined ? cap : Math.min(contextLength, info.contextLength),
      trainedContextLength: info.contextLength,
      vocabSize: info.vocabSize,
      kernels: info.kernels,
      chatTemplate: info.chatTemplate,
    };
    return this.loaded;
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
