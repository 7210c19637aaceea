import { MetadataError, MetadataValueType, type ModelMetadata } from '@smallmind/io-smq';
import { ModelConfigError } from './errors.js';

/** How RoPE pairs the elements of a head: llama rotates adjacent pairs (2i, 2i+1). */
export type RopeMode = 'normal';

/** The hyperparameters a forward pass needs, read from model metadata. */
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
  /** Width of one head. */
  readonly headDim: number;
  readonly ropeMode: RopeMode;
  readonly ropeFreqBase: number;
  /** Leading elements of each head that RoPE rotates (the rest pass through). */
  readonly ropeDimensionCount: number;
  readonly rmsNormEpsilon: number;
  /** Context window the model was configured for. */
  readonly contextLength: number;
  /** Tokens in the vocabulary (= rows of the embedding matrix). */
  readonly vocabSize: number;
}

/** One tensor a model of some architecture expects: GGUF name and shape in ggml `ne` order. */
export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** Present or not, both are valid (e.g. `output.weight` of a tied-embedding model). */
  readonly optional?: boolean;
}

/**
 * What the runtime knows about one architecture: how its metadata maps to a config and which
 * tensors its graph consumes. Adding an architecture = adding a descriptor (and its graph code).
 */
export interface ArchitectureDescriptor {
  readonly name: string;
  readConfig(metadata: ModelMetadata): ModelConfig;
  tensorSpecs(config: ModelConfig): TensorSpec[];
}

/** Runs a typed metadata read, turning a `MetadataError` into a `ModelConfigError` naming the key. */
function readKey<T>(key: string, read: () => T, why = ''): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof MetadataError) {
      throw new ModelConfigError(e.actual === undefined ? 'MISSING_KEY' : 'INVALID_VALUE', key, `model config: ${e.message}${why}`);
    }
    throw e;
  }
}

/** Reads `{arch}.<suffix>` keys with range checks; every error names the key. */
class ConfigKeyReader {
  constructor(
    private readonly metadata: ModelMetadata,
    private readonly prefix: string,
  ) {}

  key(suffix: string): string {
    return `${this.prefix}.${suffix}`;
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

  optionalString(suffix: string): string | undefined {
    const key = this.key(suffix);
    return this.metadata.has(key) ? readKey(key, () => this.metadata.getString(key)) : undefined;
  }

  optionalInteger(suffix: string): number | undefined {
    const key = this.key(suffix);
    return this.metadata.has(key) ? readKey(key, () => this.metadata.getInteger(key)) : undefined;
  }
}

const VOCAB_KEY = 'tokenizer.ggml.tokens';

function readVocabSize(metadata: ModelMetadata): number {
  const tokens = readKey(VOCAB_KEY, () => metadata.getArray(VOCAB_KEY, MetadataValueType.STRING), ' (the vocabulary size comes from it)');
  if (tokens.values.length === 0) throw new ModelConfigError('INVALID_VALUE', VOCAB_KEY, `model config: "${VOCAB_KEY}" is empty`);
  return tokens.values.length;
}

function inconsistent(key: string, message: string): ModelConfigError {
  return new ModelConfigError('INCONSISTENT', key, `model config: ${message}`);
}

/** The llama family: pre-RMSNorm blocks, adjacent-pair RoPE, GQA attention, SwiGLU FFN. */
const llamaArchitecture: ArchitectureDescriptor = {
  name: 'llama',

  readConfig(metadata) {
    const keys = new ConfigKeyReader(metadata, 'llama');
    // Variants whose graphs differ from plain llama: refuse them instead of computing wrong logits.
    const expertCount = keys.optionalInteger('expert_count');
    if (expertCount !== undefined && expertCount > 0) {
      throw new ModelConfigError('INVALID_VALUE', keys.key('expert_count'), `model config: "${keys.key('expert_count')}" is ${expertCount}; mixture-of-experts llama models are not supported`);
    }
    const scaling = keys.optionalString('rope.scaling.type');
    if (scaling !== undefined && scaling !== 'none') {
      throw new ModelConfigError('INVALID_VALUE', keys.key('rope.scaling.type'), `model config: "${keys.key('rope.scaling.type')}" is "${scaling}"; RoPE scaling is not supported`);
    }

    const blockCount = keys.positiveInteger('block_count');
    const embeddingLength = keys.positiveInteger('embedding_length');
    const feedForwardLength = keys.positiveInteger('feed_forward_length');
    const headCount = keys.positiveInteger('attention.head_count');
    const headCountKv = keys.positiveInteger('attention.head_count_kv', headCount);
    if (headCount % headCountKv !== 0) {
      throw inconsistent(keys.key('attention.head_count_kv'), `"${keys.key('attention.head_count_kv')}" = ${headCountKv} does not divide "${keys.key('attention.head_count')}" = ${headCount}`);
    }
    if (!metadata.has(keys.key('attention.key_length')) && embeddingLength % headCount !== 0) {
      throw inconsistent(keys.key('attention.head_count'), `"${keys.key('embedding_length')}" = ${embeddingLength} is not a multiple of "${keys.key('attention.head_count')}" = ${headCount}`);
    }
    const headDim = keys.positiveInteger('attention.key_length', embeddingLength / headCount);
    const valueLength = keys.positiveInteger('attention.value_length', headDim);
    if (valueLength !== headDim) {
      throw inconsistent(keys.key('attention.value_length'), `"${keys.key('attention.value_length')}" = ${valueLength} differs from the key length ${headDim}; llama heads use one width`);
    }
    const ropeDimensionCount = keys.positiveInteger('rope.dimension_count', headDim);
    if (ropeDimensionCount > headDim || ropeDimensionCount % 2 !== 0) {
      throw inconsistent(keys.key('rope.dimension_count'), `"${keys.key('rope.dimension_count')}" = ${ropeDimensionCount} must be even and at most the head width ${headDim}`);
    }
    return {
      architecture: 'llama',
      blockCount,
      embeddingLength,
      feedForwardLength,
      headCount,
      headCountKv,
      headDim,
      ropeMode: 'normal',
      ropeFreqBase: keys.positiveNumber('rope.freq_base', 10000),
      ropeDimensionCount,
      rmsNormEpsilon: keys.positiveNumber('attention.layer_norm_rms_epsilon'),
      contextLength: keys.positiveInteger('context_length'),
      vocabSize: readVocabSize(metadata),
    };
  },

  tensorSpecs(config) {
    const { embeddingLength: nEmbd, vocabSize, feedForwardLength: nFf } = config;
    const qWidth = config.headCount * config.headDim;
    const kvWidth = config.headCountKv * config.headDim;
    const specs: TensorSpec[] = [
      { name: 'token_embd.weight', shape: [nEmbd, vocabSize] },
      { name: 'output_norm.weight', shape: [nEmbd] },
      { name: 'output.weight', shape: [nEmbd, vocabSize], optional: true },
    ];
    for (let layer = 0; layer < config.blockCount; layer++) {
      const blk = `blk.${layer}`;
      specs.push(
        { name: `${blk}.attn_norm.weight`, shape: [nEmbd] },
        { name: `${blk}.attn_q.weight`, shape: [nEmbd, qWidth] },
        { name: `${blk}.attn_k.weight`, shape: [nEmbd, kvWidth] },
        { name: `${blk}.attn_v.weight`, shape: [nEmbd, kvWidth] },
        { name: `${blk}.attn_output.weight`, shape: [qWidth, nEmbd] },
        { name: `${blk}.ffn_norm.weight`, shape: [nEmbd] },
        { name: `${blk}.ffn_gate.weight`, shape: [nEmbd, nFf] },
        { name: `${blk}.ffn_up.weight`, shape: [nEmbd, nFf] },
        { name: `${blk}.ffn_down.weight`, shape: [nFf, nEmbd] },
      );
    }
    return specs;
  },
};

/** Every architecture the runtime can run, by `general.architecture`. */
const architectures: ReadonlyMap<string, ArchitectureDescriptor> = new Map([[llamaArchitecture.name, llamaArchitecture]]);

/** Names of the supported architectures, e.g. `['llama']`. */
export function supportedArchitectures(): string[] {
  return [...architectures.keys()];
}

/** The descriptor for `general.architecture`; throws `ModelConfigError` naming it and the supported ones. */
export function architectureDescriptor(metadata: ModelMetadata): ArchitectureDescriptor {
  const key = 'general.architecture';
  const name = readKey(key, () => metadata.getString(key));
  const descriptor = architectures.get(name);
  if (descriptor === undefined) {
    throw new ModelConfigError('UNSUPPORTED_ARCHITECTURE', key, `model config: architecture "${name}" is not supported (supported: ${supportedArchitectures().join(', ')})`);
  }
  return descriptor;
}

/** Reads the model hyperparameters from metadata (GGUF keys), validating every one it uses. */
export function determineModelConfig(metadata: ModelMetadata): ModelConfig {
  return architectureDescriptor(metadata).readConfig(metadata);
}
