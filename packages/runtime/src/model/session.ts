import { ContextOverflowError, InvalidInputError, SessionError } from '../errors.js';
import { Forward } from './forward.js';
import { KvCache, type KvType } from './kv-cache.js';
import type { Model } from './model.js';

/** Default context of a session: the model's window, capped so long-context models do not blow up memory. */
export const DEFAULT_CONTEXT_CAP = 4096;

export interface SessionOptions {
  /**
   * Tokens the session's KV cache holds at most. Default: min(model context length, 4096). Larger than the
   * model's window is refused (positions past it were never trained).
   */
  readonly contextSize?: number;
  /** Element type of the KV cache: `f32` (default, exact) or `f16` (half the memory). */
  readonly kvType?: KvType;
  /** Most prompt rows per batched pass (llama.cpp's ubatch); longer inputs are split. Default 512. */
  readonly maxBatchSize?: number;
}

export interface EvaluateOptions {
  /** Return the logits of every input position (n x vocab, a new array) instead of the last one's. */
  readonly allLogits?: boolean;
}

/** Memory a session's KV cache takes. */
export interface SessionMemory {
  /** Bytes allocated now (the cache grows by doubling as the context fills). */
  readonly kvBytes: number;
  /** Bytes at a full context (`contextSize` positions). */
  readonly kvBytesMax: number;
}

function positiveInteger(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidInputError('INVALID_OPTION', field, `${field} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * One conversation over a shared `Model`: it owns the KV cache, the position and the scratch buffers.
 * `evaluate` appends tokens and returns logits; `truncate` drops the tail so a caller can reuse a prefix;
 * `clone` copies the cached prefix into a new session. Sessions of one model are independent.
 */
export class Session {
  readonly model: Model;
  readonly contextSize: number;
  readonly kvType: KvType;
  readonly maxBatchSize: number;

  private kv: KvCache;
  private forward: Forward;
  private cached = 0;
  private disposed = false;

  constructor(model: Model, options: SessionOptions = {}) {
    const { config } = model;
    this.model = model;
    const contextSize = positiveInteger('contextSize', options.contextSize ?? Math.min(config.contextLength, DEFAULT_CONTEXT_CAP));
    if (contextSize > config.contextLength) {
      throw new InvalidInputError('INVALID_OPTION', 'contextSize', `contextSize ${contextSize} exceeds the model's context length ${config.contextLength}`);
    }
    this.contextSize = contextSize;
    const kvType = options.kvType ?? 'f32';
    if (kvType !== 'f32' && kvType !== 'f16') throw new InvalidInputError('INVALID_OPTION', 'kvType', `kvType must be 'f32' or 'f16', got ${String(kvType)}`);
    this.kvType = kvType;
    this.maxBatchSize = positiveInteger('maxBatchSize', options.maxBatchSize ?? 512);
    const createKvStore = model.kernels?.createKvStore?.bind(model.kernels);
    const { headCount, headCountKv, headDim } = config;
    this.kv = new KvCache(kvType, config.blockCount, headCountKv * headDim, contextSize, createKvStore === undefined ? undefined : (maxFloats) => createKvStore({ headCount, headCountKv, headDim, maxPositions: contextSize, maxFloats }));
    this.forward = new Forward(config, this.kv, model.ropeFactors, model.kernels);
  }

  /** Tokens in the KV cache (the position the next token takes). */
  get position(): number {
    return this.cached;
  }

  get memory(): SessionMemory {
    return { kvBytes: this.kv.allocatedBytes, kvBytesMax: this.kv.bytesPerPosition * this.contextSize };
  }

  /**
   * Runs `tokens` at positions position .. position + n - 1, appends them to the KV cache and returns the
   * logits of the last one (vocabSize values, the session's own buffer: overwritten by the next call, so
   * `.slice()` to keep it), or of every position with `allLogits` (a new n x vocabSize array).
   * Throws ContextOverflowError (state unchanged) when the tokens do not fit, InvalidInputError for an empty
   * input or a token id outside the vocabulary.
   */
  evaluate(tokens: readonly number[], options: EvaluateOptions = {}): Float32Array {
    this.checkUsable();
    if (this.model.architecture.embeddingOnly === true) {
      throw new InvalidInputError('INVALID_OPTION', 'model', `${this.model.architecture.name} is an embedding model without an LM head: use model.embed(), not evaluate()`);
    }
    if (tokens.length === 0) throw new InvalidInputError('EMPTY_INPUT', 'tokens', 'evaluate needs at least one token');
    this.model.checkTokens(tokens);
    if (this.cached + tokens.length > this.contextSize) throw new ContextOverflowError(this.cached, tokens.length, this.contextSize);
    const allLogits = options.allLogits === true;
    this.kv.reserve(this.cached + tokens.length, this.cached);
    const vocab = this.model.config.vocabSize;
    const all = allLogits ? new Float32Array(tokens.length * vocab) : undefined;
    let last: Float32Array = new Float32Array(0);
    const { architecture, weights, config } = this.model;
    for (let start = 0; start < tokens.length; start += this.maxBatchSize) {
      const n = Math.min(this.maxBatchSize, tokens.length - start);
      const isLast = start + n === tokens.length;
      this.forward.begin(tokens, start, n, this.cached, allLogits);
      // Only the last chunk's logits are wanted unless all are: earlier chunks still fill the cache.
      const logits = architecture.forward(this.forward, weights as never, config);
      this.cached += n;
      if (all !== undefined) all.set(logits.data, start * vocab);
      else if (isLast) last = logits.data;
    }
    return all ?? last;
  }

  /** Drops cached tokens past `length` (0 empties the cache); the next `evaluate` continues from there. */
  truncate(length: number): void {
    this.checkUsable();
    if (!Number.isSafeInteger(length) || length < 0 || length > this.cached) {
      throw new InvalidInputError('INVALID_OPTION', 'length', `truncate(${String(length)}): length must be an integer in 0 .. ${this.cached}`);
    }
    this.cached = length;
  }

  /** Empties the cache (truncate(0)). */
  reset(): void {
    this.truncate(0);
  }

  /** A new session with a copy of this one's cache (same options); the two then evolve independently. */
  clone(): Session {
    this.checkUsable();
    const copy = new Session(this.model, { contextSize: this.contextSize, kvType: this.kvType, maxBatchSize: this.maxBatchSize });
    copy.kv = this.kv.copy(this.cached);
    copy.forward = new Forward(this.model.config, copy.kv, this.model.ropeFactors, this.model.kernels);
    copy.cached = this.cached;
    return copy;
  }

  /** Releases the cache and scratch; the session cannot be used afterwards. */
  dispose(): void {
    this.disposed = true;
    this.kv.release();
  }

  private checkUsable(): void {
    if (this.disposed) throw new SessionError('SESSION_DISPOSED', 'session', 'the session has been disposed');
    if (this.model.isDisposed) throw new SessionError('MODEL_DISPOSED', 'model', 'the model of this session has been disposed');
  }
}
