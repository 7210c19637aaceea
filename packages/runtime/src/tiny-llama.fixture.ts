// Test support (not exported from the package): small random llama models held as F32 tensors.
import { MetadataValueType, ModelMetadata, type MetadataValue } from '@smallmind/io-smq';
import { GgmlType, createWeightTensor, type IWeightTensor } from '@smallmind/quantization-tensors';
import type { ModelConfig } from './model-config.js';
import { createRng } from './sampling.js';

export interface TinyLlamaShape {
  readonly vocabSize: number;
  readonly embeddingLength: number;
  readonly feedForwardLength: number;
  readonly headCount: number;
  readonly headCountKv: number;
  readonly blockCount: number;
  readonly contextLength: number;
}

export const defaultTinyShape: TinyLlamaShape = {
  vocabSize: 48,
  embeddingLength: 32,
  feedForwardLength: 40,
  headCount: 4,
  headCountKv: 2,
  blockCount: 2,
  contextLength: 32,
};

export function tinyConfig(shape: TinyLlamaShape = defaultTinyShape): ModelConfig {
  const headDim = shape.embeddingLength / shape.headCount;
  return {
    architecture: 'llama',
    ...shape,
    headDim,
    ropeMode: 'normal',
    ropeFreqBase: 10000,
    ropeDimensionCount: headDim,
    // float32, as a file stores it, so configs read back from metadata compare equal.
    rmsNormEpsilon: Math.fround(1e-5),
  };
}

/** A named tensor as a file would hold it: ggml `ne` shape and F32 values. */
export interface RawTensor {
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** Standard-normal samples from a seeded generator (Box-Muller). */
export function gaussian(seed: number): () => number {
  const uniform = createRng(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * Every tensor of a random llama model, by GGUF name, in GGUF order. `tied` leaves out
 * `output.weight`. Scales follow fixtures/README §2 so logits are well spread.
 */
export function randomLlamaTensors(config: ModelConfig, seed: number, tied: boolean): Map<string, RawTensor> {
  const normal = gaussian(seed);
  const nEmbd = config.embeddingLength;
  const qWidth = config.headCount * config.headDim;
  const kvWidth = config.headCountKv * config.headDim;
  const tensors = new Map<string, RawTensor>();
  const matrix = (name: string, cols: number, rows: number, std: number): void => {
    tensors.set(name, { shape: [cols, rows], values: Float32Array.from({ length: rows * cols }, () => normal() * std) });
  };
  const norm = (name: string, gain: number): void => {
    tensors.set(name, { shape: [nEmbd], values: Float32Array.from({ length: nEmbd }, () => gain * (1 + 0.1 * normal())) });
  };
  matrix('token_embd.weight', nEmbd, config.vocabSize, 0.5);
  for (let layer = 0; layer < config.blockCount; layer++) {
    const blk = `blk.${layer}`;
    norm(`${blk}.attn_norm.weight`, 1);
    matrix(`${blk}.attn_q.weight`, nEmbd, qWidth, 1 / Math.sqrt(nEmbd));
    matrix(`${blk}.attn_k.weight`, nEmbd, kvWidth, 1 / Math.sqrt(nEmbd));
    matrix(`${blk}.attn_v.weight`, nEmbd, kvWidth, 1 / Math.sqrt(nEmbd));
    matrix(`${blk}.attn_output.weight`, qWidth, nEmbd, 2 / Math.sqrt(qWidth));
    norm(`${blk}.ffn_norm.weight`, 1);
    matrix(`${blk}.ffn_gate.weight`, nEmbd, config.feedForwardLength, 1 / Math.sqrt(nEmbd));
    matrix(`${blk}.ffn_up.weight`, nEmbd, config.feedForwardLength, 1 / Math.sqrt(nEmbd));
    matrix(`${blk}.ffn_down.weight`, config.feedForwardLength, nEmbd, 2 / Math.sqrt(config.feedForwardLength));
  }
  norm('output_norm.weight', 3);
  if (!tied) matrix('output.weight', nEmbd, config.vocabSize, 0.5);
  return tensors;
}

export function f32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** An F32 weight matrix of ggml shape [cols, rows]. */
export function f32Matrix(raw: RawTensor): IWeightTensor {
  return createWeightTensor(GgmlType.F32, f32Bytes(raw.values), raw.shape);
}

/** Splits raw tensors into F32 weight matrices (2-D) and float vectors (1-D). */
export function splitRawTensors(tensors: ReadonlyMap<string, RawTensor>): { matrices: Map<string, IWeightTensor>; vectors: Map<string, Float32Array> } {
  const matrices = new Map<string, IWeightTensor>();
  const vectors = new Map<string, Float32Array>();
  for (const [name, raw] of tensors) {
    if (raw.shape.length === 1) vectors.set(name, raw.values);
    else matrices.set(name, f32Matrix(raw));
  }
  return { matrices, vectors };
}

/**
 * GGUF-style metadata of a tiny llama model: the `llama.*` hyperparameters and a small SPM
 * vocabulary (`<unk>`, `<s>`, `</s>`, then plain pieces) of `config.vocabSize` tokens.
 */
export function tinyLlamaMetadata(config: ModelConfig): ModelMetadata {
  const u32 = (value: number): MetadataValue => ({ type: MetadataValueType.UINT32, value });
  const f32 = (value: number): MetadataValue => ({ type: MetadataValueType.FLOAT32, value });
  const pieces = ['<unk>', '<s>', '</s>', ...Array.from({ length: config.vocabSize - 3 }, (_, i) => `\u2581w${i}`)];
  return new ModelMetadata([
    ['general.architecture', { type: MetadataValueType.STRING, value: 'llama' }],
    ['llama.context_length', u32(config.contextLength)],
    ['llama.embedding_length', u32(config.embeddingLength)],
    ['llama.feed_forward_length', u32(config.feedForwardLength)],
    ['llama.block_count', u32(config.blockCount)],
    ['llama.attention.head_count', u32(config.headCount)],
    ['llama.attention.head_count_kv', u32(config.headCountKv)],
    ['llama.rope.freq_base', f32(config.ropeFreqBase)],
    ['llama.attention.layer_norm_rms_epsilon', f32(config.rmsNormEpsilon)],
    ['tokenizer.ggml.model', { type: MetadataValueType.STRING, value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.STRING, values: pieces } }],
    ['tokenizer.ggml.scores', { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.FLOAT32, values: pieces.map((_, i) => -i) } }],
    ['tokenizer.ggml.token_type', { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.INT32, values: pieces.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : 1)) } }],
    ['tokenizer.ggml.bos_token_id', u32(1)],
    ['tokenizer.ggml.eos_token_id', u32(2)],
  ]);
}
