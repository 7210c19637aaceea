/**
 * The one random-model builder: metadata and seeded random weights for any supported architecture, with
 * the tensor list taken from the family's own tensor table (so a new family needs no builder change).
 * Unit tests build in-memory models from it; the engine's differential harness writes the same models as
 * GGUF files for llama.cpp to run. Weight scales follow the shared fixtures (README §2): projections
 * N(0, 1/fan_in), residual outputs 2/sqrt(fan_in), norms 1 + N(0, 0.1^2), the final norm 3x, so logits are
 * well spread and greedy decoding does not loop on one token.
 */
import { MetadataValueType, ModelMetadata, type MetadataValue } from '@smallmind/io-smq';
import { GgmlType, createWeightTensor } from '@smallmind/quantization-tensors';
import { architectureByName } from '../architectures/index.js';
import { ConfigKeys } from '../model/config.js';
import { Model } from '../model/model.js';
import { tensorSpecs, type BoundValue, type TensorSpec } from '../model/tensor-table.js';
import { createRng } from '../sampling.js';

export interface RandomModelShape {
  readonly vocabSize: number;
  readonly embeddingLength: number;
  readonly feedForwardLength: number;
  readonly headCount: number;
  readonly headCountKv: number;
  readonly blockCount: number;
  readonly contextLength: number;
  /** `attention.key_length` (default: n_embd / n_head, and the key is not written). */
  readonly headDim?: number;
}

export const defaultRandomShape: RandomModelShape = {
  vocabSize: 48,
  embeddingLength: 32,
  feedForwardLength: 40,
  headCount: 4,
  headCountKv: 2,
  blockCount: 2,
  contextLength: 32,
};

export const u32 = (value: number): MetadataValue => ({ type: MetadataValueType.UINT32, value });
export const f32 = (value: number): MetadataValue => ({ type: MetadataValueType.FLOAT32, value: Math.fround(value) });
export const str = (value: string): MetadataValue => ({ type: MetadataValueType.STRING, value });
export const bool = (value: boolean): MetadataValue => ({ type: MetadataValueType.BOOL, value });

/**
 * A small SPM vocabulary (`<unk>`, `<s>`, `</s>`, then plain pieces `▁w0`, `▁w1`, ...) as `tokenizer.ggml.*`
 * entries, BOS 1 and EOS 2.
 */
export function tinyVocabularyEntries(vocabSize: number): Array<[string, MetadataValue]> {
  const pieces = ['<unk>', '<s>', '</s>', ...Array.from({ length: vocabSize - 3 }, (_, i) => `\u2581w${i}`)];
  return [
    ['tokenizer.ggml.model', str('llama')],
    ['tokenizer.ggml.tokens', { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.STRING, values: pieces } }],
    ['tokenizer.ggml.scores', { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.FLOAT32, values: pieces.map((_, i) => -i) } }],
    ['tokenizer.ggml.token_type', { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.INT32, values: pieces.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : 1)) } }],
    ['tokenizer.ggml.bos_token_id', u32(1)],
    ['tokenizer.ggml.eos_token_id', u32(2)],
  ];
}

export interface RandomMetadataOptions {
  /** Family keys beyond the common ones, without the `{arch}.` prefix (e.g. `{ logit_scale: f32(8) }`). */
  readonly keys?: Readonly<Record<string, MetadataValue>>;
  /** Tokenizer entries (default: `tinyVocabularyEntries(shape.vocabSize)`). */
  readonly vocabulary?: ReadonlyArray<readonly [string, MetadataValue]>;
}

/** GGUF-style metadata of a random `architecture` model of `shape`. */
export function randomModelMetadata(architecture: string, shape: RandomModelShape, options: RandomMetadataOptions = {}): ModelMetadata {
  const a = (suffix: string): string => `${architecture}.${suffix}`;
  const entries: Array<readonly [string, MetadataValue]> = [
    ['general.architecture', str(architecture)],
    [a('context_length'), u32(shape.contextLength)],
    [a('embedding_length'), u32(shape.embeddingLength)],
    [a('feed_forward_length'), u32(shape.feedForwardLength)],
    [a('block_count'), u32(shape.blockCount)],
    [a('attention.head_count'), u32(shape.headCount)],
    [a('attention.head_count_kv'), u32(shape.headCountKv)],
    [a('rope.freq_base'), f32(10000)],
    // Both epsilon keys: each family reads the one its norm uses.
    [a('attention.layer_norm_rms_epsilon'), f32(1e-5)],
    [a('attention.layer_norm_epsilon'), f32(1e-5)],
  ];
  // An encoder: bidirectional attention and a pooling type, as llama.cpp's converter writes for BERT.
  if (architecture === 'bert' || architecture === 'nomic-bert') entries.push([a('attention.causal'), bool(false)], [a('pooling_type'), u32(1)]);
  if (shape.headDim !== undefined) entries.push([a('attention.key_length'), u32(shape.headDim)], [a('attention.value_length'), u32(shape.headDim)]);
  const keys = new Map(entries.map(([k, v]) => [k, v]));
  for (const [suffix, value] of Object.entries(options.keys ?? {})) keys.set(a(suffix), value);
  return new ModelMetadata([...keys, ...(options.vocabulary ?? tinyVocabularyEntries(shape.vocabSize))]);
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

export interface RandomTensorOptions {
  /**
   * Optional tensors to include, by name without the `blk.{i}.` prefix. Default: the split Q/K/V
   * projections (`attn_q.weight`, `attn_k.weight`, `attn_v.weight`) and nothing else, so `output.weight`
   * is absent (tied output) unless listed.
   */
  readonly include?: readonly string[];
}

const DEFAULT_INCLUDE = ['attn_q.weight', 'attn_k.weight', 'attn_v.weight'];

function baseName(name: string): string {
  return name.replace(/^blk\.\d+\./, '');
}

/** How a tensor is drawn: its kind of role decides the scale. */
function drawValues(spec: TensorSpec, normal: () => number): Float32Array {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const name = baseName(spec.name);
  if (spec.kind === 'vector') {
    if (name.endsWith('.bias')) return Float32Array.from({ length: count }, () => 0.1 * normal());
    if (name.startsWith('rope_')) return Float32Array.from({ length: count }, () => 1 + 0.5 * Math.abs(normal()));
    const gain = name === 'output_norm.weight' ? 3 : 1;
    return Float32Array.from({ length: count }, () => gain * (1 + 0.1 * normal()));
  }
  const fanIn = spec.shape[0]!;
  let std = 1 / Math.sqrt(fanIn);
  if (name === 'token_embd.weight' || name === 'output.weight' || name === 'position_embd.weight' || name === 'token_types.weight') std = 0.5;
  else if (name === 'attn_output.weight' || name === 'ffn_down.weight') std = 2 / Math.sqrt(fanIn);
  return Float32Array.from({ length: count }, () => std * normal());
}

/** Every tensor of a random model for `metadata` (its architecture's table), by GGUF name, in table order. */
export function randomModelTensors(metadata: ModelMetadata, seed: number, options: RandomTensorOptions = {}): Map<string, RawTensor> {
  const architecture = architectureByName(metadata.getString('general.architecture'));
  const config = architecture.readConfig(new ConfigKeys(metadata, architecture.name));
  const include = new Set(options.include ?? DEFAULT_INCLUDE);
  const normal = gaussian(seed);
  const tensors = new Map<string, RawTensor>();
  for (const spec of tensorSpecs(architecture.tensors, config)) {
    if (spec.optional && !include.has(baseName(spec.name))) continue;
    tensors.set(spec.name, { shape: spec.shape, values: drawValues(spec, normal) });
  }
  return tensors;
}

/** Raw F32 tensors as the model binds them: 1-D as floats, 2-D as F32 weight tensors. */
export function boundF32Tensors(tensors: ReadonlyMap<string, RawTensor>): Map<string, BoundValue> {
  const bound = new Map<string, BoundValue>();
  for (const [name, raw] of tensors) {
    bound.set(name, raw.shape.length === 1 ? raw.values : createWeightTensor(GgmlType.F32, new Uint8Array(raw.values.buffer, raw.values.byteOffset, raw.values.byteLength), raw.shape));
  }
  return bound;
}

/** An in-memory F32 model (plain TypeScript kernels) from metadata and raw tensors. */
export function modelFromRawTensors(metadata: ModelMetadata, tensors: ReadonlyMap<string, RawTensor>): Model {
  return Model.create({ metadata, tensors: boundF32Tensors(tensors) });
}

/** metadata + random tensors + model in one call. */
export function buildRandomModel(
  architecture: string,
  shape: RandomModelShape = defaultRandomShape,
  options: RandomMetadataOptions & RandomTensorOptions & { readonly seed?: number } = {},
): { model: Model; metadata: ModelMetadata; tensors: Map<string, RawTensor> } {
  const metadata = randomModelMetadata(architecture, shape, options);
  const tensors = randomModelTensors(metadata, options.seed ?? 7, options);
  return { model: modelFromRawTensors(metadata, tensors), metadata, tensors };
}
