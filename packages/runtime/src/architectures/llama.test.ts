import { MetadataValueType, ModelMetadata, type MetadataValue } from '@smallmind/io-smq';
import { describe, expect, it } from 'vitest';
import { ModelConfigError } from '../errors.js';
import { ConfigKeys, type ModelConfig } from '../model/config.js';
import { tensorSpecs } from '../model/tensor-table.js';
import { architectureOf, supportedArchitectures } from './index.js';

function determineModelConfig(metadata: ModelMetadata): ModelConfig {
  const architecture = architectureOf(metadata);
  return architecture.readConfig(new ConfigKeys(metadata, architecture.name));
}

const u32 = (value: number): MetadataValue => ({ type: MetadataValueType.UINT32, value });
const f32 = (value: number): MetadataValue => ({ type: MetadataValueType.FLOAT32, value });
const str = (value: string): MetadataValue => ({ type: MetadataValueType.STRING, value });
const tokens = (n: number): MetadataValue => ({
  type: MetadataValueType.ARRAY,
  value: { elementType: MetadataValueType.STRING, values: Array.from({ length: n }, (_, i) => `t${i}`) },
});

/** The keys of fixtures/stories260K-F32.gguf (no freq_base, as in that file). */
function stories260kEntries(): Array<[string, MetadataValue]> {
  return [
    ['general.architecture', str('llama')],
    ['tokenizer.ggml.tokens', tokens(512)],
    ['llama.context_length', u32(128)],
    ['llama.embedding_length', u32(64)],
    ['llama.feed_forward_length', u32(172)],
    ['llama.attention.head_count', u32(8)],
    ['llama.attention.head_count_kv', u32(4)],
    ['llama.block_count', u32(5)],
    ['llama.rope.dimension_count', u32(8)],
    ['llama.attention.layer_norm_rms_epsilon', f32(9.999999747378752e-6)],
  ];
}

function metadataWith(changes: Record<string, MetadataValue | undefined>): ModelMetadata {
  const entries = new Map(stories260kEntries());
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) entries.delete(key);
    else entries.set(key, value);
  }
  return new ModelMetadata(entries);
}

function configError(changes: Record<string, MetadataValue | undefined>): ModelConfigError {
  try {
    determineModelConfig(metadataWith(changes));
  } catch (e) {
    if (e instanceof ModelConfigError) return e;
    throw e;
  }
  throw new Error('expected a ModelConfigError');
}

describe('llama config and tensor table', () => {
  it('reads stories260K and applies the defaults of absent keys', () => {
    const layer = { rope: { mode: 'normal', dimensionCount: 8, freqBase: 10000, freqScale: 1 }, slidingWindow: undefined };
    expect(determineModelConfig(metadataWith({}))).toEqual({
      architecture: 'llama',
      blockCount: 5,
      embeddingLength: 64,
      feedForwardLength: 172,
      headCount: 8,
      headCountKv: 4,
      headDim: 8,
      normEpsilon: 9.999999747378752e-6,
      contextLength: 128,
      vocabSize: 512,
      layers: [layer, layer, layer, layer, layer],
      attentionScale: 1 / Math.sqrt(8),
    });
  });

  it('defaults head_count_kv to head_count and rope.dimension_count to the head width', () => {
    const config = determineModelConfig(metadataWith({ 'llama.attention.head_count_kv': undefined, 'llama.rope.dimension_count': undefined }));
    expect(config.headCountKv).toBe(8);
    expect(config.layers[0]!.rope!.dimensionCount).toBe(8);
  });

  it('reads rope.freq_base when present, any integer type for counts', () => {
    const config = determineModelConfig(
      metadataWith({ 'llama.rope.freq_base': f32(500000), 'llama.block_count': { type: MetadataValueType.UINT64, value: 5n } }),
    );
    expect(config.layers[4]!.rope!.freqBase).toBe(500000);
    expect(config.blockCount).toBe(5);
  });

  for (const key of [
    'llama.block_count',
    'llama.embedding_length',
    'llama.feed_forward_length',
    'llama.attention.head_count',
    'llama.attention.layer_norm_rms_epsilon',
    'llama.context_length',
    'tokenizer.ggml.tokens',
  ]) {
    it(`names the missing key ${key}`, () => {
      const error = configError({ [key]: undefined });
      expect(error.code).toBe('MISSING_KEY');
      expect(error.key).toBe(key);
      expect(error.message).toContain(key);
    });
  }

  it('names a key of the wrong type or range', () => {
    expect(configError({ 'llama.block_count': str('5') })).toMatchObject({ code: 'INVALID_VALUE', key: 'llama.block_count' });
    expect(configError({ 'llama.embedding_length': u32(0) })).toMatchObject({ code: 'INVALID_VALUE', key: 'llama.embedding_length' });
    expect(configError({ 'llama.attention.layer_norm_rms_epsilon': f32(-1) })).toMatchObject({ code: 'INVALID_VALUE', key: 'llama.attention.layer_norm_rms_epsilon' });
    expect(configError({ 'llama.rope.freq_base': f32(Number.NaN) })).toMatchObject({ code: 'INVALID_VALUE', key: 'llama.rope.freq_base' });
    expect(configError({ 'tokenizer.ggml.tokens': tokens(0) })).toMatchObject({ code: 'INVALID_VALUE', key: 'tokenizer.ggml.tokens' });
  });

  it('names inconsistent keys', () => {
    expect(configError({ 'llama.attention.head_count_kv': u32(3) })).toMatchObject({ code: 'INCONSISTENT', key: 'llama.attention.head_count_kv' });
    expect(configError({ 'llama.attention.head_count': u32(7), 'llama.attention.head_count_kv': u32(7) })).toMatchObject({
      code: 'INCONSISTENT',
      key: 'llama.attention.head_count',
    });
    expect(configError({ 'llama.rope.dimension_count': u32(10) })).toMatchObject({ code: 'INCONSISTENT', key: 'llama.rope.dimension_count' });
    expect(configError({ 'llama.rope.dimension_count': u32(5) })).toMatchObject({ code: 'INCONSISTENT', key: 'llama.rope.dimension_count' });
  });

  it('refuses llama variants it would compute wrongly', () => {
    expect(configError({ 'llama.expert_count': u32(8) })).toMatchObject({ key: 'llama.expert_count' });
    expect(configError({ 'llama.rope.scaling.type': str('yarn') })).toMatchObject({ key: 'llama.rope.scaling.type' });
    expect(determineModelConfig(metadataWith({ 'llama.rope.scaling.type': str('none') })).architecture).toBe('llama');
    const linear = determineModelConfig(metadataWith({ 'llama.rope.scaling.type': str('linear'), 'llama.rope.scaling.factor': f32(4) }));
    expect(linear.layers[0]!.rope!.freqScale).toBe(0.25);
  });

  it('names an unsupported architecture and lists the supported ones', () => {
    const error = configError({ 'general.architecture': str('mamba') });
    expect(error.code).toBe('UNSUPPORTED_ARCHITECTURE');
    expect(error.key).toBe('general.architecture');
    expect(error.message).toContain('"mamba"');
    expect(error.message).toContain('supported: llama, qwen2, qwen3, gemma2, gemma3, gpt2, phi3, granite, smollm3, bert, nomic-bert');
    expect(supportedArchitectures()).toEqual(['llama', 'qwen2', 'qwen3', 'gemma2', 'gemma3', 'gpt2', 'phi3', 'granite', 'smollm3', 'bert', 'nomic-bert']);
    expect(configError({ 'general.architecture': undefined })).toMatchObject({ code: 'MISSING_KEY', key: 'general.architecture' });
  });

  it('lists the tensors of the graph with ggml shapes; output.weight optional', () => {
    const metadata = metadataWith({});
    const architecture = architectureOf(metadata);
    const specs = tensorSpecs(architecture.tensors, determineModelConfig(metadata));
    // Required: token_embd, output_norm; per block attn_norm, attn_output, ffn_norm, gate, up, down (Q/K/V: fused or split, checked by validate).
    expect(specs.filter((s) => !s.optional)).toHaveLength(2 + 5 * 6);
    const byName = new Map(specs.map((s) => [s.name, s]));
    expect(byName.get('token_embd.weight')).toEqual({ name: 'token_embd.weight', kind: 'matrix', shape: [64, 512], optional: false });
    expect(byName.get('output.weight')?.optional).toBe(true);
    expect(byName.get('blk.4.attn_k.weight')?.shape).toEqual([64, 32]);
    expect(byName.get('blk.0.attn_output.weight')?.shape).toEqual([64, 64]);
    expect(byName.get('blk.2.ffn_down.weight')?.shape).toEqual([172, 64]);
    expect(byName.get('blk.2.ffn_gate.weight')?.shape).toEqual([64, 172]);
  });
});
