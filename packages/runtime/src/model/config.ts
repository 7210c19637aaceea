import { MetadataError, MetadataValueType, type ModelMetadata } from '@smallmind/io-smq';
import { ModelConfigError } from '../errors.js';

/** How RoPE pairs the elements of a head: `normal` rotates (2i, 2i+1) (llama), `neox` (i, i + d/2). */
export type RopeMode = 'normal' | 'neox';

/** The rotary embedding of one layer. Layers that share a spec object share its angle table. */
export interface RopeSpec {
  readonly mode: RopeMode;
  /** Leading elements of each head that turn (the rest pass through). */
  readonly dimensionCount: number;
  readonly freqBase: number;
  /** Linear RoPE scaling: angles are multiplied by this (1 = none). */
  readonly freqScale: number;
}

/** What can differ from layer to layer. */
export interface LayerConfig {
  /** undefined: this layer has no RoPE (GPT-2's learned positions, SmolLM3's NoPE layers). */
  readonly rope: RopeSpec | undefined;
  /** Sliding-window attention: a query sees this many positions, itself included. undefined: all (global). */
  readonly slidingWindow: number | undefined;
}

/** The hyperparameters a forward pass needs, read from model metadata by the family's module. */
export interface ModelConfig {
  /** `general.architecture`, e.g. `llama`. */
  readonly architecture: string;
  /** Number of transformer blocks. */
  readonly blockCount: number;
  /** Width of the residual stream (n_embd). */
  readonly embeddingLength: number;
  /** Hidden width of the FFN (n_ff). */
  readonly feedForwardLength: number;
  /** Query heads. */
  readonly headCount: number;
  /** Key/value heads (== headCount for MHA, 1 for MQA, a divisor of headCount for GQA). */
  readonly headCountKv: number;
  /** Width of one query/key/value head (`attention.key_length`, default n_embd / n_head). */
  readonly headDim: number;
  /** Epsilon of the family's norm (RMSNorm or LayerNorm). */
  readonly normEpsilon: number;
  /** Context window the model was configured for. */
  readonly contextLength: number;
  /** Tokens in the vocabulary (= rows of the embedding matrix). */
  readonly vocabSize: number;
  /** Per layer: RoPE and attention window. */
  readonly layers: readonly LayerConfig[];
  /** Multiplies K·q before the softmax (1/sqrt(headDim) unless the family says otherwise). */
  readonly attentionScale: number;
  /** Attention scores become cap * tanh(score / cap) (Gemma 2). */
  readonly attentionSoftcap?: number;
  /** Logits become cap * tanh(logit / cap) (Gemma 2/3 when set). */
  readonly finalLogitSoftcap?: number;
  /** Input embeddings are multiplied by this (Gemma: sqrt(n_embd); Granite: embedding_scale). */
  readonly embeddingScale?: number;
  /** Residual branches (attention, FFN outputs) are multiplied by this before the add (Granite). */
  readonly residualScale?: number;
  /** Logits are divided by this (Granite's logit_scale). */
  readonly logitScale?: number;
  /** `{arch}.pooling_type`: how `Model.embed` pools hidden states by default. Absent: the file declares none. */
  readonly pooling?: PoolingType;
  /** Every token attends to every token of its batch (`{arch}.attention.causal` = false: BERT). */
  readonly bidirectional?: boolean;
}

/** llama.cpp's `llama_pooling_type`, by its GGUF number: 0 none, 1 mean, 2 cls, 3 last, 4 rank. */
export type PoolingType = 'none' | 'mean' | 'cls' | 'last' | 'rank';
const POOLING_TYPES: readonly PoolingType[] = ['none', 'mean', 'cls', 'last', 'rank'];

/** `{arch}.pooling_type`, or undefined when absent; an unknown number is an INVALID_VALUE naming the key. */
export function readPoolingType(keys: ConfigKeys): PoolingType | undefined {
  const value = keys.optionalInteger('pooling_type');
  if (value === undefined) return undefined;
  const pooling = POOLING_TYPES[value];
  if (pooling === undefined) {
    throw new ModelConfigError('INVALID_VALUE', keys.key('pooling_type'), `model config: "${keys.key('pooling_type')}" is ${value}; expected 0 (none), 1 (mean), 2 (cls), 3 (last) or 4 (rank)`);
  }
  return pooling;
}

/** Runs a typed metadata read, turning a `MetadataError` into a `ModelConfigError` naming the key. */
export function readKey<T>(key: string, read: () => T, why = ''): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof MetadataError) {
      throw new ModelConfigError(e.actual === undefined ? 'MISSING_KEY' : 'INVALID_VALUE', key, `model config: ${e.message}${why}`);
    }
    throw e;
  }
}

export function inconsistent(key: string, message: string): ModelConfigError {
  return new ModelConfigError('INCONSISTENT', key, `model config: ${message}`);
}

/** Reads `{arch}.<suffix>` keys with range checks; every error names the key. */
export class ConfigKeys {
  constructor(
    readonly metadata: ModelMetadata,
    readonly prefix: string,
  ) {}

  key(suffix: string): string {
    return `${this.prefix}.${suffix}`;
  }

  has(suffix: string): boolean {
    return this.metadata.has(this.key(suffix));
  }

  /** A positive integer (counts and sizes); `fallback` applies only when the key is absent. */
  positiveInteger(suffix: string, fallback?: number): number {
    const key = this.key(suffix);
    if (fallback !== undefined && !this.metadata.has(key)) return fallback;
    const value = readKey(key, () => this.metadata.getInteger(key));
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new ModelConfigError('INVALID_VALUE', key, `model config: metadata key "${key}" is ${value}, expected a positive integer`);
    }
    return value;
  }

  /** A non-negative integer, or `fallback` when the key is absent. */
  nonNegativeInteger(suffix: string, fallback: number): number {
    const key = this.key(suffix);
    if (!this.metadata.has(key)) return fallback;
    const value = readKey(key, () => this.metadata.getInteger(key));
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ModelConfigError('INVALID_VALUE', key, `model config: metadata key "${key}" is ${value}, expected a non-negative integer`);
    }
    return value;
  }

  /** A finite positive number; `fallback` applies only when the key is absent. */
  positiveNumber(suffix: string, fallback?: number): number {
    const key = this.key(suffix);
    if (fallback !== undefined && !this.metadata.has(key)) return fallback;
    const value = readKey(key, () => this.metadata.getNumber(key));
    if (!Number.isFinite(value) || value <= 0) {
      throw new ModelConfigError('INVALID_VALUE', key, `model config: metadata key "${key}" is ${value}, expected a finite positive number`);
    }
    return value;
  }

  /** A finite positive number, or undefined when absent (or 0, which GGUF writers use for "off"). */
  optionalPositiveNumber(suffix: string): number | undefined {
    const key = this.key(suffix);
    if (!this.metadata.has(key)) return undefined;
    const value = readKey(key, () => this.metadata.getNumber(key));
    if (value === 0) return undefined;
    if (!Number.isFinite(value) || value < 0) {
      throw new ModelConfigError('INVALID_VALUE', key, `model config: metadata key "${key}" is ${value}, expected a finite positive number`);
    }
    return value;
  }

  optionalString(suffix: string): string | undefined {
    const key = this.key(suffix);
    return this.metadata.has(key) ? readKey(key, () => this.metadata.getString(key)) : undefined;
  }

  optionalInteger(suffix: string): number | undefined {
    const key = this.key(suffix);
    return this.metadata.has(key) ? readKey(key, () => this.metadata.getInteger(key)) : undefined;
  }

  optionalBool(suffix: string): boolean | undefined {
    const key = this.key(suffix);
    return this.metadata.has(key) ? readKey(key, () => this.metadata.getBool(key)) : undefined;
  }

  /** Refuses a key whose presence (with a non-trivial value) means a graph we do not implement. */
  refuse(suffix: string, isHarmless: (value: unknown) => boolean, what: string): void {
    const key = this.key(suffix);
    if (!this.metadata.has(key)) return;
    const value = this.metadata.get(key)?.value;
    if (!isHarmless(value)) {
      throw new ModelConfigError('INVALID_VALUE', key, `model config: "${key}" is ${JSON.stringify(value)}; ${what} is not supported`);
    }
  }
}

const VOCAB_KEY = 'tokenizer.ggml.tokens';

export function readVocabSize(metadata: ModelMetadata): number {
  const tokens = readKey(VOCAB_KEY, () => metadata.getArray(VOCAB_KEY, MetadataValueType.STRING), ' (the vocabulary size comes from it)');
  if (tokens.values.length === 0) throw new ModelConfigError('INVALID_VALUE', VOCAB_KEY, `model config: "${VOCAB_KEY}" is empty`);
  return tokens.values.length;
}

export interface BaseConfigOptions {
  /** RoPE layout of the family; `none` for learned absolute positions. */
  readonly rope: RopeMode | 'none';
  /** `rms` reads `attention.layer_norm_rms_epsilon`, `layer` reads `attention.layer_norm_epsilon`. */
  readonly norm: 'rms' | 'layer';
}

/**
 * The hyperparameters every decoder family shares, read from `{arch}.*` keys: sizes, heads (GQA/MQA, a
 * decoupled `attention.key_length`), norm epsilon, context, RoPE (dimension count, base, linear scaling;
 * refuses the scaling types we do not implement) and the default attention scale 1/sqrt(headDim). Every
 * layer starts global with the same RoPE; families adjust layers and extras from there.
 */
export function readBaseConfig(keys: ConfigKeys, options: BaseConfigOptions): ModelConfig {
  const { metadata } = keys;
  keys.refuse('expert_count', (v) => v === 0 || v === 0n, 'a mixture-of-experts model');
  const blockCount = keys.positiveInteger('block_count');
  const embeddingLength = keys.positiveInteger('embedding_length');
  const feedForwardLength = keys.positiveInteger('feed_forward_length');
  const headCount = keys.positiveInteger('attention.head_count');
  const headCountKv = keys.positiveInteger('attention.head_count_kv', headCount);
  if (headCount % headCountKv !== 0) {
    throw inconsistent(keys.key('attention.head_count_kv'), `"${keys.key('attention.head_count_kv')}" = ${headCountKv} does not divide "${keys.key('attention.head_count')}" = ${headCount}`);
  }
  if (!keys.has('attention.key_length') && embeddingLength % headCount !== 0) {
    throw inconsistent(keys.key('attention.head_count'), `"${keys.key('embedding_length')}" = ${embeddingLength} is not a multiple of "${keys.key('attention.head_count')}" = ${headCount}`);
  }
  const headDim = keys.positiveInteger('attention.key_length', embeddingLength / headCount);
  const valueLength = keys.positiveInteger('attention.value_length', headDim);
  if (valueLength !== headDim) {
    throw inconsistent(keys.key('attention.value_length'), `"${keys.key('attention.value_length')}" = ${valueLength} differs from the key length ${headDim}; heads of two widths are not supported`);
  }
  const normEpsilon =
    options.norm === 'rms' ? keys.positiveNumber('attention.layer_norm_rms_epsilon') : keys.positiveNumber('attention.layer_norm_epsilon');

  let rope: RopeSpec | undefined;
  if (options.rope !== 'none') {
    const dimensionCount = keys.positiveInteger('rope.dimension_count', headDim);
    if (dimensionCount > headDim || dimensionCount % 2 !== 0) {
      throw inconsistent(keys.key('rope.dimension_count'), `"${keys.key('rope.dimension_count')}" = ${dimensionCount} must be even and at most the head width ${headDim}`);
    }
    const scaling = keys.optionalString('rope.scaling.type');
    let freqScale = 1;
    if (scaling === 'linear') {
      const factor = keys.optionalPositiveNumber('rope.scaling.factor');
      if (factor !== undefined) freqScale = 1 / factor;
    } else if (scaling !== undefined && scaling !== 'none') {
      throw new ModelConfigError('INVALID_VALUE', keys.key('rope.scaling.type'), `model config: "${keys.key('rope.scaling.type')}" is "${scaling}"; RoPE scaling other than linear is not supported`);
    }
    if (scaling === undefined && keys.has('rope.scale_linear')) freqScale = 1 / keys.positiveNumber('rope.scale_linear');
    rope = { mode: options.rope, dimensionCount, freqBase: keys.positiveNumber('rope.freq_base', 10000), freqScale };
  }
  const layer: LayerConfig = { rope, slidingWindow: undefined };
  const pooling = readPoolingType(keys);
  const bidirectional = keys.optionalBool('attention.causal') === false;
  return {
    ...(pooling === undefined ? {} : { pooling }),
    ...(bidirectional ? { bidirectional } : {}),
    architecture: keys.prefix,
    blockCount,
    embeddingLength,
    feedForwardLength,
    headCount,
    headCountKv,
    headDim,
    normEpsilon,
    contextLength: keys.positiveInteger('context_length'),
    vocabSize: readVocabSize(metadata),
    layers: Array.from({ length: blockCount }, () => layer),
    attentionScale: 1 / Math.sqrt(headDim),
  };
}

/**
 * Which layers use sliding-window attention, as llama.cpp's `set_swa_pattern(n)`: with a period n, layer
 * il is local when il % n < n - 1 (n = 0: every layer local; n = 1: none).
 */
export function slidingWindowLayers(blockCount: number, period: number): boolean[] {
  return Array.from({ length: blockCount }, (_, il) => period === 0 || il % period < period - 1);
}
