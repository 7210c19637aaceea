import { stat } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import type { GgufImportProgress } from '@smallmind/io-gguf';
import { SmqFormatError, SmqReader } from '@smallmind/io-smq';
import { createBackend, type KernelBackend } from '@smallmind/quantization-kernels';
import { Sampler, SmqModelLoader, consoleLogger, type Logger, type Model, type SamplingOptions } from '@smallmind/runtime';
import { EngineError } from './errors.js';
import { cacheEntrySource, defaultCacheDir, ensureImported, pruneCache, removeCacheEntry } from './model-cache.js';

export interface SmallMindEngineOptions {
  /** Where load and import messages go (console by default). */
  readonly logger?: Logger;
  /** Directory for SMQ files imported from GGUF (default `$SMALLMIND_CACHE_DIR` or `~/.cache/smallmind`). */
  readonly cacheDir?: string;
  /** Threads for the matrix kernels, the calling thread included (default: all cores, at most 8). */
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
  /** Context window to enforce instead of the file's. */
  readonly contextLength?: number;
  /** Progress of a GGUF -> SMQ import (only called when an import actually runs). */
  readonly onImportProgress?: (progress: GgufImportProgress) => void;
  /** Progress of reading the weights, after each matrix. */
  readonly onLoadProgress?: (progress: LoadProgress) => void;
}

export interface ModelInfo {
  /** The SMQ file the model was loaded from (for a GGUF: the cached import). */
  readonly smqPath: string;
  /** True when this call imported the GGUF file (false: cache hit, or an SMQ path). */
  readonly imported: boolean;
  readonly architecture: string;
  readonly contextLength: number;
  readonly vocabSize: number;
  readonly kernels: string;
}

export interface GenerateOptions extends SamplingOptions {
  /** Most new tokens (default 128); fewer when the context window ends first. */
  readonly maxTokens?: number;
  /** Prepend BOS (default: what the model's tokenizer metadata says). */
  readonly addBos?: boolean;
  /** Receives the text as it is produced, never splitting a UTF-8 character. */
  readonly onText?: (text: string) => void;
  /** Stops generation at the next token. */
  readonly signal?: AbortSignal;
}

export interface GenerateResult {
  readonly text: string;
  readonly tokens: number[];
  readonly promptTokens: number;
  /** `stop`: an end-of-generation token; `length`: maxTokens or the context window; `abort`: the signal. */
  readonly finishReason: 'stop' | 'length' | 'abort';
  readonly prefillMs: number;
  readonly decodeMs: number;
}

/**
 * The one-stop facade: load a GGUF or SMQ model, generate text. Each `generate` call starts from
 * an empty KV cache. Call `dispose()` to stop kernel worker threads.
 */
export class SmallMindEngine {
  private readonly logger: Logger;
  private readonly cacheDir: string;
  private backend: KernelBackend | undefined;
  private loaded: Model | undefined;
  private contextOverride: number | undefined;

  constructor(private readonly options: SmallMindEngineOptions = {}) {
    this.logger = options.logger ?? consoleLogger;
    this.cacheDir = options.cacheDir ?? defaultCacheDir();
    const cap = options.cacheMaxBytes;
    if (cap !== undefined && (!Number.isSafeInteger(cap) || cap < 0)) {
      throw new EngineError('INVALID_OPTION', 'cacheMaxBytes', `cacheMaxBytes = ${cap} must be a non-negative integer (bytes)`);
    }
  }

  /** The loaded model: config, tokenizer, metadata, sessions (undefined before `loadModel`). */
  get model(): Model | undefined {
    return this.loaded;
  }

  async loadModel(options: LoadModelOptions): Promise<ModelInfo> {
    const { path } = options;
    const kind = extname(path).toLowerCase();
    if (kind !== '.gguf' && kind !== '.smq') {
      throw new EngineError('UNSUPPORTED_MODEL_FILE', 'path', `model file "${path}" must end in .gguf or .smq`);
    }
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile() !== true) throw new EngineError('MODEL_NOT_FOUND', 'path', `model file "${path}" does not exist or is not a file`);

    let smqPath = path;
    let imported = false;
    /** The GGUF file a damaged SMQ file can be re-imported from (undefined: the SMQ file is the user's own). */
    let source: string | undefined;
    if (kind === '.gguf') {
      source = path;
      ({ smqPath, imported } = await this.importCached(path, options));
    } else {
      source = (await cacheEntrySource(path))?.path;
    }
    // One model at a time: release the previous one (its weights live in its backend's memory) before
    // reading the next, so two models never have to fit in memory together.
    await this.dispose();
    let loaded: { model: LoadedModel; backend: KernelBackend };
    const loadedFile = await stat(smqPath).catch(() => undefined);
    try {
<<<<<<< HEAD
      this.loaded = await SmqModelLoader.loadFromSmq(smqPath, {
        logger: this.logger,
        backend,
        ...(options.preserveQuantization === undefined ? {} : { preserveQuantization: options.preserveQuantization }),
      });
      this.contextOverride = options.contextLength;
=======
      loaded = await this.loadSmq(smqPath, options);
>>>>>>> robust
    } catch (error) {
      // A cache entry damaged on disk (truncated, flipped bytes) fails at open or at a tensor checksum.
      // Checking every checksum up front would cost a full extra read, so the load itself is the check.
      if (!(error instanceof SmqFormatError) || imported || source === undefined) throw error;
      if ((await stat(source).catch(() => undefined))?.isFile() !== true) {
        throw new EngineError(
          'CACHE_ENTRY_CORRUPT',
          'path',
          `the cached model ${smqPath} is damaged (${error.message}) and its source ${source} is gone; ` +
            `remove it with \`smallmind cache clear --cache-dir ${dirname(smqPath)}\` (or \`rm ${smqPath}\`)`,
        );
      }
      this.logger.warn(`the cached model ${smqPath} is damaged (${error.message}); removing it and re-importing ${source}`);
      // Another process may have healed it already: only remove the very file that failed.
      const now = await stat(smqPath).catch(() => undefined);
      if (now !== undefined && now.ino === loadedFile?.ino && now.mtimeMs === loadedFile.mtimeMs) await removeCacheEntry(smqPath);
      ({ smqPath, imported } = await this.importCached(source, options));
      loaded = await this.loadSmq(smqPath, options);
    }
    const { backend } = loaded;
    this.loaded = loaded.model;
    this.backend = backend;
    const { config, tokenizer } = this.loaded;
    return {
      smqPath,
      imported,
      architecture: config.architecture,
      contextLength: this.contextLength(this.loaded),
      vocabSize: tokenizer.vocabSize,
      kernels: `${backend.name} x${backend.threads}`,
    };
  }

<<<<<<< HEAD
  private contextLength(model: Model): number {
    return Math.min(this.contextOverride ?? model.config.contextLength, model.config.contextLength);
=======
  /** The cached SMQ file of `ggufPath`, imported first if needed; then the cache is held to its size cap. */
  private async importCached(ggufPath: string, options: LoadModelOptions): Promise<{ smqPath: string; imported: boolean }> {
    const result = await ensureImported(ggufPath, this.cacheDir, options.onImportProgress);
    this.logger.info(result.imported ? `imported ${ggufPath} -> ${result.smqPath}` : `using cached import ${result.smqPath}`);
    if (this.options.cacheMaxBytes !== undefined) {
      const pruned = await pruneCache(this.cacheDir, { maxBytes: this.options.cacheMaxBytes, keep: [result.smqPath] });
      for (const entry of pruned.removed) this.logger.info(`cache: evicted ${entry.smqPath} (${entry.bytes} bytes)`);
    }
    return result;
  }

  /** Loads `smqPath` onto a fresh kernel backend (disposed again if the load fails). */
  private async loadSmq(smqPath: string, options: LoadModelOptions): Promise<{ model: LoadedModel; backend: KernelBackend }> {
    const backend = await createBackend({
      ...(this.options.threads === undefined ? {} : { threads: this.options.threads }),
      prefer: this.options.kernels ?? 'wasm',
      logger: this.logger,
    });
    try {
      return { model: await this.loadOnto(smqPath, backend, options), backend };
    } catch (error) {
      await backend.dispose();
      throw error;
    }
  }

  private async loadOnto(smqPath: string, backend: KernelBackend, options: LoadModelOptions): Promise<LoadedModel> {
    const onLoadProgress = options.onLoadProgress;
    let progressBackend: KernelBackend | { prepare: KernelBackend['prepare'] } = backend;
    if (onLoadProgress !== undefined) {
      // The loader prepares every matrix (2-D and up) in file order; the header says how big each is.
      const reader = await SmqReader.open(smqPath);
      const matrices = reader.tensors.filter((t) => t.shape.length >= 2).map((t) => t.byteLength);
      await reader.close();
      const bytesTotal = matrices.reduce((sum, n) => sum + n, 0);
      let tensorsDone = 0;
      let bytesDone = 0;
      progressBackend = {
        prepare: (tensor) => {
          const prepared = backend.prepare(tensor);
          bytesDone = Math.min(bytesTotal, bytesDone + (matrices[tensorsDone] ?? 0));
          tensorsDone++;
          onLoadProgress({ bytesDone, bytesTotal, tensorsDone, tensorsTotal: matrices.length });
          return prepared;
        },
      };
    }
    return SmqModelLoader.loadFromSmq(smqPath, {
      logger: this.logger,
      backend: progressBackend,
      ...(options.preserveQuantization === undefined ? {} : { preserveQuantization: options.preserveQuantization }),
      ...(options.contextLength === undefined ? {} : { contextLength: options.contextLength }),
    });
>>>>>>> robust
  }

  /** Generates a continuation of `prompt` (greedy unless a temperature > 0 is given). */
  async generate(prompt: string, options: GenerateOptions = {}): Promise<GenerateResult> {
    const loaded = this.loaded;
    if (loaded === undefined) throw new EngineError('NO_MODEL_LOADED', 'model', 'call loadModel() before generate()');
    const { tokenizer } = loaded;
    const model = loaded.createSession({ contextSize: this.contextLength(loaded) });
    const maxTokens = options.maxTokens ?? 128;
    if (!Number.isSafeInteger(maxTokens) || maxTokens < 0) {
      throw new EngineError('INVALID_OPTION', 'maxTokens', `maxTokens = ${maxTokens} must be a non-negative integer`);
    }
    const sampler = new Sampler({ temperature: 0, ...options });
    const promptTokens = tokenizer.encode(prompt, options.addBos === undefined ? {} : { addBos: options.addBos });
    if (promptTokens.length === 0) throw new EngineError('INVALID_OPTION', 'prompt', 'the prompt encodes to zero tokens (empty prompt and no BOS)');
    if (promptTokens.length > model.contextSize) {
      throw new EngineError('PROMPT_TOO_LONG', 'prompt', `the prompt is ${promptTokens.length} tokens; the context window holds ${model.contextSize}`);
    }
    // The last sampled token is never fed back, so a full window still yields one more token.
    const budget = Math.min(maxTokens, model.contextSize - promptTokens.length + 1);
    const decoder = tokenizer.createStreamDecoder();
    const tokens: number[] = [];
    let text = '';
    const emit = (piece: string): void => {
      if (piece.length === 0) return;
      text += piece;
      options.onText?.(piece);
    };

    const t0 = performance.now();
    let logits = budget > 0 ? model.evaluate(promptTokens) : new Float32Array(0);
    const t1 = performance.now();
    let finishReason: GenerateResult['finishReason'] = 'length';
    for (let step = 0; step < budget; step++) {
      if (options.signal?.aborted === true) {
        finishReason = 'abort';
        break;
      }
      const token = sampler.sample(logits);
      if (tokenizer.isEndOfGeneration(token)) {
        finishReason = 'stop';
        break;
      }
      tokens.push(token);
      emit(decoder.push(token));
      // Let an onText consumer (stdout, an HTTP stream) drain between tokens.
      if (options.onText !== undefined) await new Promise((resolve) => setImmediate(resolve));
      if (step + 1 < budget) logits = model.evaluate([token]);
    }
    emit(decoder.flush());
    model.dispose();
    return { text, tokens, promptTokens: promptTokens.length, finishReason, prefillMs: t1 - t0, decodeMs: performance.now() - t1 };
  }

  /** Stops kernel threads and releases the model (also done by the next `loadModel`). */
  async dispose(): Promise<void> {
    this.loaded = undefined;
    const backend = this.backend;
    this.backend = undefined;
    await backend?.dispose();
  }
}
