// Writes a random-weight llama model with TinyLlama-1.1B's shape to a GGUF file (cached: an
// existing file is reused). Tensors are quantized with the tensors package's reference quantizers;
// to keep generation to seconds (Q4_K quantization of 1.1 B weights in TS would take half an
// hour) each tensor's rows are drawn from a pool of 64 quantized random rows per row length and
// type. Kernel speed does not depend on the values, only on the format and shape.
import { existsSync } from 'node:fs';
import { GgufWriter } from '@smallmind/io-gguf';
import { MetadataValueType, ModelMetadata, type MetadataValue } from '@smallmind/io-smq';
import { GgmlType, ggmlTypeInfo, quantize, type GgmlTypeId } from '@smallmind/quantization-tensors';

export const TINYLLAMA_SHAPE = {
  vocab: 32000,
  embd: 2048,
  layers: 22,
  heads: 32,
  kvHeads: 4,
  ffn: 5632,
  context: 2048,
} as const;

export type ModelMix = 'Q4_0' | 'Q8_0' | 'Q4_K_M';

/** llama.cpp's use_more_bits: Q4_K_M gives these layers' attn_v and ffn_down Q6_K. */
function useMoreBits(layer: number, layers: number): boolean {
  return layer < layers / 8 || layer >= (7 * layers) / 8 || (layer - Math.floor(layers / 8)) % 3 === 2;
}

interface PlannedTensor {
  readonly name: string;
  readonly type: GgmlTypeId;
  readonly shape: readonly number[];
}

/** The tensor list of the model in `mix`, in llama.cpp's order. */
export function planTensors(mix: ModelMix): PlannedTensor[] {
  const s = TINYLLAMA_SHAPE;
  const base = mix === 'Q4_0' ? GgmlType.Q4_0 : mix === 'Q8_0' ? GgmlType.Q8_0 : GgmlType.Q4_K;
  const kv = (s.embd / s.heads) * s.kvHeads;
  const tensors: PlannedTensor[] = [{ name: 'token_embd.weight', type: base, shape: [s.embd, s.vocab] }];
  for (let layer = 0; layer < s.layers; layer++) {
    const more = mix === 'Q4_K_M' && useMoreBits(layer, s.layers) ? GgmlType.Q6_K : base;
    const blk = `blk.${layer}`;
    tensors.push(
      { name: `${blk}.attn_norm.weight`, type: GgmlType.F32, shape: [s.embd] },
      { name: `${blk}.attn_q.weight`, type: base, shape: [s.embd, s.embd] },
      { name: `${blk}.attn_k.weight`, type: base, shape: [s.embd, kv] },
      { name: `${blk}.attn_v.weight`, type: more, shape: [s.embd, kv] },
      { name: `${blk}.attn_output.weight`, type: base, shape: [s.embd, s.embd] },
      { name: `${blk}.ffn_norm.weight`, type: GgmlType.F32, shape: [s.embd] },
      { name: `${blk}.ffn_gate.weight`, type: base, shape: [s.embd, s.ffn] },
      { name: `${blk}.ffn_up.weight`, type: base, shape: [s.embd, s.ffn] },
      { name: `${blk}.ffn_down.weight`, type: more, shape: [s.ffn, s.embd] },
    );
  }
  tensors.push(
    { name: 'output_norm.weight', type: GgmlType.F32, shape: [s.embd] },
    { name: 'output.weight', type: mix === 'Q8_0' ? GgmlType.Q8_0 : GgmlType.Q6_K, shape: [s.embd, s.vocab] },
  );
  return tensors;
}

/** llama metadata with TinyLlama's hyperparameters and a synthetic 32000-piece SPM vocabulary. */
function metadata(mix: ModelMix): ModelMetadata {
  const s = TINYLLAMA_SHAPE;
  const u32 = (value: number): MetadataValue => ({ type: MetadataValueType.UINT32, value });
  const f32 = (value: number): MetadataValue => ({ type: MetadataValueType.FLOAT32, value });
  const bytes = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const pieces = ['<unk>', '<s>', '</s>', ...bytes];
  while (pieces.length < s.vocab) pieces.push(`\u2581w${pieces.length}`);
  const types = pieces.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
  const fileType = mix === 'Q4_0' ? 2 : mix === 'Q8_0' ? 7 : 15;
  return new ModelMetadata([
    ['general.architecture', { type: MetadataValueType.STRING, value: 'llama' }],
    ['general.name', { type: MetadataValueType.STRING, value: `random TinyLlama-1.1B-shaped ${mix}` }],
    ['general.file_type', u32(fileType)],
    ['llama.context_length', u32(s.context)],
    ['llama.embedding_length', u32(s.embd)],
    ['llama.feed_forward_length', u32(s.ffn)],
    ['llama.block_count', u32(s.layers)],
    ['llama.attention.head_count', u32(s.heads)],
    ['llama.attention.head_count_kv', u32(s.kvHeads)],
    ['llama.rope.dimension_count', u32(s.embd / s.heads)],
    ['llama.rope.freq_base', f32(10000)],
    ['llama.attention.layer_norm_rms_epsilon', f32(1e-5)],
    ['tokenizer.ggml.model', { type: MetadataValueType.STRING, value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.STRING, values: pieces } }],
    ['tokenizer.ggml.scores', { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.FLOAT32, values: pieces.map((_, i) => -i) } }],
    ['tokenizer.ggml.token_type', { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.INT32, values: types } }],
    ['tokenizer.ggml.bos_token_id', u32(1)],
    ['tokenizer.ggml.eos_token_id', u32(2)],
    ['tokenizer.ggml.unknown_token_id', u32(0)],
  ]);
}

function xorshift(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/** 64 quantized rows of N(0, std^2) values (Box-Muller), for drawing tensor rows from. */
function rowPool(type: GgmlTypeId, cols: number, std: number, seed: number): Uint8Array[] {
  const uniform = xorshift(seed);
  return Array.from({ length: 64 }, () => {
    const values = new Float32Array(cols);
    for (let c = 0; c < cols; c++) values[c] = std * Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
    return quantize(type, values);
  });
}

/** Writes the model unless `path` exists; returns the path. */
export async function ensureModel(path: string, mix: ModelMix, log: (message: string) => void): Promise<string> {
  if (existsSync(path)) return path;
  log(`writing ${path} (random weights, TinyLlama-1.1B shape, ${mix})`);
  const tensors = planTensors(mix);
  const writer = await GgufWriter.create(path, { metadata: metadata(mix), tensors });
  try {
    const pools = new Map<string, Uint8Array[]>();
    const pick = xorshift(7);
    for (const [index, t] of tensors.entries()) {
      const cols = t.shape[0]!;
      const rows = t.shape[1] ?? 1;
      if (t.shape.length === 1) {
        const ones = new Float32Array(cols).map(() => 1 + 0.1 * (pick() - 0.5));
        await writer.writeTensorData(t.name, new Uint8Array(ones.buffer));
        continue;
      }
      const key = `${t.type}:${cols}`;
      if (!pools.has(key)) pools.set(key, rowPool(t.type, cols, 1 / Math.sqrt(cols), index + 1));
      const pool = pools.get(key)!;
      const rowBytes = (cols / ggmlTypeInfo(t.type).blockSize) * ggmlTypeInfo(t.type).typeSize;
      const chunkRows = Math.max(1, Math.floor((8 << 20) / rowBytes));
      for (let r0 = 0; r0 < rows; r0 += chunkRows) {
        const n = Math.min(chunkRows, rows - r0);
        const chunk = new Uint8Array(n * rowBytes);
        for (let r = 0; r < n; r++) chunk.set(pool[Math.floor(pick() * pool.length)]!, r * rowBytes);
        await writer.writeTensorData(t.name, chunk);
      }
    }
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return path;
}
