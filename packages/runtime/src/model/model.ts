import type { ModelMetadata } from '@smallmind/io-smq';
import type { IWeightTensor } from '@smallmind/quantization-tensors';
import { architectureOf, type AnyArchitecture } from '../architectures/index.js';
import { ContextOverflowError, InvalidInputError, ModelLoadError, SessionError } from '../errors.js';
import { createTokenizer, type Tokenizer } from '../tokenizer/index.js';
import { ConfigKeys, type ModelConfig, type PoolingType, type RopeSpec } from './config.js';
import { Forward, normalizeL2, poolHiddenStates, type ForwardKernels } from './forward.js';
import { KvCache } from './kv-cache.js';
import { Session, type SessionOptions } from './session.js';
import { bindWeights, checkTensorDirectory, tensorSpecs, type BoundValue, type TensorEntry } from './tensor-table.js';

export interface CreateModelOptions {
  readonly metadata: ModelMetadata;
  /** Every tensor by GGUF name: 2-D as weight tensors (kept in their format), 1-D as floats. */
  readonly tensors: ReadonlyMap<string, BoundValue>;
  /** Default: built from the metadata's `tokenizer.ggml.*` keys. */
  readonly tokenizer?: Tokenizer;
  /** Names the source in errors (a file path). */
  readonly source?: string;
  /** Called once by `dispose()` (e.g. to stop the kernel backend that holds the weights). */
  readonly onDispose?: () => Promise<void>;
  /** The kernel backend: sessions keep an F32 KV cache in its memory and attend with its kernel, and run SwiGLU with it. */
  readonly kernels?: ForwardKernels;
}

/** Pooling types `embed` computes (rank needs a classifier head, none gives no single vector). */
export type EmbedPooling = Exclude<PoolingType, 'none' | 'rank'>;

export interface EmbedOptions {
  /** Default: the file's `{arch}.pooling_type`. */
  readonly pooling?: EmbedPooling;
  /** Divide by the L2 norm (default true, as llama-server's /v1/embeddings does). */
  readonly normalize?: boolean;
  /** An input longer than the model's context: keep its first tokens (true) or fail (default). */
  readonly truncate?: boolean;
}

export interface Embedding {
  /** embeddingLength values. */
  readonly vector: Float32Array;
  /** Tokens evaluated (after any truncation). */
  readonly tokens: number;
  readonly pooling: EmbedPooling;
}

function shapeOf(value: BoundValue): readonly number[] {
  return value instanceof Float32Array ? [value.length] : [value.cols, value.rows];
}

/**
 * A loaded model: config, weights (kept in their file's block format), tokenizer, chat template and
 * metadata. Immutable after creation and shared by any number of sessions (`createSession`), each with its
 * own KV cache. `dispose()` releases the kernel memory; sessions then fail with SESSION_DISPOSED.
 */
export class Model {
  readonly architecture: AnyArchitecture;
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer;
  readonly metadata: ModelMetadata;
  /** `tokenizer.chat_template` when the file has one. */
  readonly chatTemplate: string | undefined;
  /** Where the model came from (a path), when known. */
  readonly source: string | undefined;
  /** The bound weights, as the architecture's table names them. */
  readonly weights: unknown;
  /** Bytes of weight data held (quantized bytes for block formats, 4 per float for vectors). */
  readonly weightBytes: number;
  /** RoPE frequency factors by spec (Llama 3's rope_freqs), shared by every session. */
  readonly ropeFactors: ReadonlyMap<RopeSpec, Float32Array>;

  /** Where sessions get kernel memory for their KV cache and element-wise kernels (undefined: JS arrays, all in TS). */
  readonly kernels: ForwardKernels | undefined;

  private disposed = false;
  private readonly onDispose: (() => Promise<void>) | undefined;

  private constructor(options: CreateModelOptions, architecture: AnyArchitecture, config: ModelConfig, weights: unknown, ropeFactors: ReadonlyMap<RopeSpec, Float32Array>) {
    this.architecture = architecture;
    this.config = config;
    this.metadata = options.metadata;
    this.tokenizer = options.tokenizer ?? createTokenizer(options.metadata);
    const template = options.metadata.get('tokenizer.chat_template')?.value;
    this.chatTemplate = typeof template === 'string' ? template : undefined;
    this.source = options.source;
    this.weights = weights;
    this.ropeFactors = ropeFactors;
    this.onDispose = options.onDispose;
    this.kernels = options.kernels;
    let bytes = 0;
    for (const value of options.tensors.values()) bytes += value instanceof Float32Array ? value.byteLength : (value as IWeightTensor).byteLength;
    this.weightBytes = bytes;
  }

  /**
   * Builds a model from metadata and tensors: the family's module reads the config, its tensor table checks
   * every tensor's name and shape (ModelLoadError naming the tensor) and binds the weights.
   */
  static create(options: CreateModelOptions): Model {
    const architecture = architectureOf(options.metadata);
    const config = architecture.readConfig(new ConfigKeys(options.metadata, architecture.name));
    const entries: TensorEntry[] = [...options.tensors].map(([name, value]) => ({ name, shape: shapeOf(value) }));
    checkTensorDirectory(entries, tensorSpecs(architecture.tensors, config), architecture.name, options.source);
    const weights = bindWeights(architecture.tensors, config, (name) => options.tensors.get(name));
    architecture.validate?.(weights, config);
    const factors = architecture.ropeFactors?.(weights);
    const ropeFactors = new Map<RopeSpec, Float32Array>();
    if (factors !== undefined) {
      for (const layer of config.layers) {
        if (layer.rope === undefined) continue;
        if (factors.length !== layer.rope.dimensionCount / 2) {
          throw new ModelLoadError('WRONG_SHAPE', 'rope_freqs.weight', `RoPE frequency factors have ${factors.length} values, expected ${layer.rope.dimensionCount / 2}`);
        }
        ropeFactors.set(layer.rope, factors);
      }
    }
    return new Model(options, architecture, config, weights, ropeFactors);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** A new conversation over this model with its own KV cache (see `SessionOptions`). */
  createSession(options: SessionOptions = {}): Session {
    if (this.disposed) throw new SessionError('MODEL_DISPOSED', 'model', 'the model has been disposed');
    return new Session(this, options);
  }

  /** Checks a token list against the vocabulary (typed error naming the first bad entry). */
  checkTokens(tokens: readonly number[]): void {
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (!Number.isInteger(token) || token < 0 || token >= this.config.vocabSize) {
        throw new InvalidInputError('TOKEN_OUT_OF_RANGE', `tokens[${i}]`, `tokens[${i}] = ${token} is not a token id of this model (0 .. ${this.config.vocabSize - 1})`);
      }
    }
  }

  /** How `embed` pools by default: the file's pooling type, or undefined when it declares none it can compute. */
  get embedPooling(): EmbedPooling | undefined {
    const pooling = this.config.pooling;
    return pooling === undefined || pooling === 'none' || pooling === 'rank' ? undefined : pooling;
  }

  /**
   * One embedding of a token sequence (tokenize with the model's tokenizer first; BERT wants [CLS] ... [SEP],
   * which its `encode` adds): the whole input runs in one pass (a bidirectional encoder sees all of it;
   * a decoder's hidden states are causal, as in llama.cpp), the final hidden states are pooled and, by
   * default, L2-normalised. No session or KV cache outlives the call. Typed errors: EMPTY_INPUT,
   * TOKEN_OUT_OF_RANGE, CONTEXT_OVERFLOW (longer than the model's context, unless `truncate`), INVALID_OPTION
   * for a model or pooling that cannot embed (pooling none or rank, or none declared and none given).
   */
  embed(tokens: readonly number[], options: EmbedOptions = {}): Embedding {
    if (this.disposed) throw new SessionError('MODEL_DISPOSED', 'model', 'the model has been disposed');
    const pooling = options.pooling ?? this.embedPooling;
    if (pooling === undefined) {
      const declared = this.config.pooling;
      const why = declared === undefined ? `declares no ${this.architecture.name}.pooling_type` : `has pooling type "${declared}"`;
      throw new InvalidInputError('INVALID_OPTION', 'pooling', `this model ${why}, which gives no embedding vector; pass pooling: 'mean' | 'cls' | 'last'`);
    }
    if (pooling !== 'mean' && pooling !== 'cls' && pooling !== 'last') {
      throw new InvalidInputError('INVALID_OPTION', 'pooling', `pooling must be 'mean', 'cls' or 'last', got ${String(pooling)}`);
    }
    if (tokens.length === 0) throw new InvalidInputError('EMPTY_INPUT', 'tokens', 'embed needs at least one token');
    const { config } = this;
    let input = tokens;
    if (input.length > config.contextLength) {
      if (options.truncate !== true) throw new ContextOverflowError(0, input.length, config.contextLength);
      input = input.slice(0, config.contextLength);
    }
    this.checkTokens(input);
    const kv = new KvCache('f32', config.blockCount, config.headCountKv * config.headDim, input.length);
    try {
      kv.reserve(input.length, 0);
      const forward = new Forward(config, kv, this.ropeFactors, this.kernels);
      forward.begin(input, 0, input.length, 0, true, true);
      this.architecture.forward(forward, this.weights as never, config);
      const hidden = forward.hidden;
      // Every architecture ends in `logits` or `hiddenStates`, which set it in an embedding pass.
      if (hidden === undefined) throw new Error(`${this.architecture.name}: forward pass produced no hidden states`);
      const vector = poolHiddenStates(hidden, pooling);
      return { vector: options.normalize === false ? vector : normalizeL2(vector), tokens: input.length, pooling };
    } finally {
      kv.release();
    }
  }

  /** Releases the weights' kernel memory (once); every session of this model stops working. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.onDispose?.();
  }
}
