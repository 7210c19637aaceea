/**
 * The facade. The model lives in an inference worker (worker_threads): loading, prompt evaluation and
 * generation run there, so the caller's event loop stays free (a server keeps answering while a model
 * generates). Everything here is async; text streams back as it is generated.
 */
import type { GgufImportProgress } from '@smallmind/io-gguf';
import { consoleLogger, type EmbedPooling, type Logger } from '@smallmind/runtime';
import { EngineError } from './errors.js';
import { fileIdentity, healModelFile, resolveModelFile, type ModelFile } from './model-loading.js';
import { defaultCacheDir } from './model-cache.js';
import { EngineCore, type EmbedOptions, type EmbedResult, type GenerateOptions, type GenerateResult, type SessionOptions } from './engine-core.js';
import type { FinishReason, GenerationTimings } from './session.js';
import type { WorkerModelInfo } from './worker/protocol.js';
import { startNodeWorker } from './worker/node-worker.js';
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

/** Progress of reading an SMQ file's tensors into memory (matrices into the kernels' memory). */
export interface LoadProgress {
  /** Bytes of tensor data (every tensor of the SMQ file) placed so far. */
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
  /** Progress of reading the weights, after each tensor (in the order they are read). */
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
  /** Embeddings: vector width, the file's pooling type (undefined: `embed` needs `pooling`), encoder-only. */
  readonly embedding: { readonly length: number; readonly pooling: EmbedPooling | undefined; readonly only: boolean };
}

export type { EmbedOptions, EmbedResult, FinishReason, GenerateOptions, GenerateResult, GenerationTimings, SessionOptions };

export class SmallMindEngine extends EngineCore<ModelInfo> {
  private readonly logger: Logger;
  private readonly cacheDir: string;

  constructor(private readonly options: SmallMindEngineOptions = {}) {
    super();
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

  protected override startWorker(): WorkerClient {
    return new WorkerClient(startNodeWorker(), (level, message) => this.logger[level](message));
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
      embedding: { length: info.embeddingLength, pooling: info.pooling, only: info.embeddingOnly },
    };
    return this.loaded;
  }

}
