import { describe, expect, it } from 'vitest';
import { ContextOverflowError, InvalidInputError, ModelConfigError } from '../errors.js';
import { f32ToFp16, fp16ToF32 } from '@smallmind/quantization-tensors';
import { cosineSimilarity } from '../model/forward.js';
import { gelu } from '../ops/math.js';
import { buildRandomModel, defaultRandomShape, u32, type RandomModelShape, type RawTensor } from '../testing/random-model.js';

const shape: RandomModelShape = { ...defaultRandomShape, headCountKv: defaultRandomShape.headCount, blockCount: 2 };
const tokens = [1, 17, 5, 40, 22, 9, 31, 12, 2];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** ggml's CPU GELU (GGML_GELU_FP16): tanh-form GELU of the fp16-rounded input, rounded to fp16; cut off at +-10. */
const half = (x: number): number => fp16ToF32(f32ToFp16(x));
const ggmlGelu = (x: number): number => (x <= -10 ? 0 : x >= 10 ? x : half(gelu(half(x))));

/**
 * BERT written out directly from its definition (HF BertModel with token type 0, GELU as llama.cpp's CPU
 * backend computes it), in doubles over the raw tensors: the independent reference the module must match.
 */
function referenceBert(raw: ReadonlyMap<string, RawTensor>, ids: readonly number[], s: RandomModelShape, eps: number): number[][] {
  const t = (name: string): Float32Array => raw.get(name)!.values;
  const d = s.embeddingLength;
  const heads = s.headCount;
  const hd = d / heads;
  const row = (m: Float32Array, r: number, width: number): number[] => Array.from(m.subarray(r * width, (r + 1) * width));
  const linear = (x: number[], name: string, bias: string, out: number): number[] => {
    const w = t(name);
    const b = t(bias);
    return Array.from({ length: out }, (_, r) => x.reduce((sum, v, c) => sum + w[r * x.length + c]! * v, b[r]!));
  };
  const layerNorm = (x: number[], weight: string, bias: string): number[] => {
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length;
    const w = t(weight);
    const b = t(bias);
    return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * w[i]! + b[i]!);
  };
  let h = ids.map((id, pos) => {
    const e = row(t('token_embd.weight'), id, d);
    const p = row(t('position_embd.weight'), pos, d);
    const types = raw.has('token_types.weight') ? row(t('token_types.weight'), 0, d) : new Array<number>(d).fill(0);
    return layerNorm(e.map((v, i) => v + p[i]! + types[i]!), 'token_embd_norm.weight', 'token_embd_norm.bias');
  });
  for (let il = 0; il < s.blockCount; il++) {
    const n = (x: string): string => `blk.${il}.${x}`;
    const q = h.map((x) => linear(x, n('attn_q.weight'), n('attn_q.bias'), d));
    const k = h.map((x) => linear(x, n('attn_k.weight'), n('attn_k.bias'), d));
    const v = h.map((x) => linear(x, n('attn_v.weight'), n('attn_v.bias'), d));
    const attended = q.map((qi) => {
      const out = new Array<number>(d).fill(0);
      for (let head = 0; head < heads; head++) {
        const base = head * hd;
        const scores = k.map((kj) => {
          let dot = 0;
          for (let c = 0; c < hd; c++) dot += qi[base + c]! * kj[base + c]!;
          return dot / Math.sqrt(hd);
        });
        const max = Math.max(...scores);
        const weights = scores.map((sc) => Math.exp(sc - max));
        const sum = weights.reduce((a, b) => a + b, 0);
        v.forEach((vj, j) => {
          for (let c = 0; c < hd; c++) out[base + c] = out[base + c]! + (weights[j]! / sum) * vj[base + c]!;
        });
      }
      return out;
    });
    h = h.map((x, i) => {
      const attn = linear(attended[i]!, n('attn_output.weight'), n('attn_output.bias'), d);
      const a = layerNorm(x.map((value, c) => value + attn[c]!), n('attn_output_norm.weight'), n('attn_output_norm.bias'));
      const up = linear(a, n('ffn_up.weight'), n('ffn_up.bias'), s.feedForwardLength).map(ggmlGelu);
      const down = linear(up, n('ffn_down.weight'), n('ffn_down.bias'), d);
      return layerNorm(a.map((value, c) => value + down[c]!), n('layer_output_norm.weight'), n('layer_output_norm.bias'));
    });
  }
  return h;
}

describe('bert', () => {
  const { model, tensors } = buildRandomModel('bert', shape, { seed: 11, include: ['token_types.weight'] });

  it('reads an encoder config: bidirectional, mean pooling from the file', () => {
    expect(model.config.bidirectional).toBe(true);
    expect(model.config.pooling).toBe('mean');
    expect(model.architecture.embeddingOnly).toBe(true);
  });

  it('matches a direct BERT reference for mean, cls and last pooling', () => {
    const reference = referenceBert(tensors, tokens, shape, 1e-5);
    const mean = reference[0]!.map((_, c) => reference.reduce((sum, r) => sum + r[c]!, 0) / reference.length);
    const cases = [
      ['mean', mean],
      ['cls', reference[0]!],
      ['last', reference[reference.length - 1]!],
    ] as const;
    for (const [pooling, expected] of cases) {
      const { vector } = model.embed(tokens, { pooling, normalize: false });
      expect(vector).toHaveLength(shape.embeddingLength);
      expect(maxAbsDiff(vector, expected)).toBeLessThan(1e-4);
    }
  });

  it('attends both ways: the first token\'s state depends on later tokens', () => {
    const a = model.embed(tokens, { pooling: 'cls' }).vector;
    const b = model.embed([...tokens.slice(0, -1), 3], { pooling: 'cls' }).vector;
    expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-3);
  });

  it('normalises to unit length by default', () => {
    const { vector, tokens: count, pooling } = model.embed(tokens);
    expect(pooling).toBe('mean');
    expect(count).toBe(tokens.length);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    expect(cosineSimilarity(vector, model.embed(tokens, { normalize: false }).vector)).toBeCloseTo(1, 6);
  });

  it('refuses evaluate() (no LM head), too long inputs unless truncating, bad tokens', () => {
    expect(() => model.createSession().evaluate(tokens)).toThrow(InvalidInputError);
    const long = Array.from({ length: shape.contextLength + 3 }, (_, i) => 3 + (i % 20));
    expect(() => model.embed(long)).toThrow(ContextOverflowError);
    const truncated = model.embed(long, { truncate: true });
    expect(truncated.tokens).toBe(shape.contextLength);
    expect(maxAbsDiff(truncated.vector, model.embed(long.slice(0, shape.contextLength)).vector)).toBe(0);
    expect(() => model.embed([])).toThrow(expect.objectContaining({ code: 'EMPTY_INPUT' }));
    expect(() => model.embed([1, shape.vocabSize])).toThrow(expect.objectContaining({ code: 'TOKEN_OUT_OF_RANGE', field: 'tokens[1]' }));
  });

  it('pooling types from the file: rank and none give no vector, an unknown number is a config error', () => {
    const rank = buildRandomModel('bert', shape, { seed: 1, keys: { pooling_type: u32(4) } }).model;
    expect(() => rank.embed(tokens)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', field: 'pooling', message: expect.stringContaining('rank') }));
    const none = buildRandomModel('bert', shape, { seed: 1, keys: { pooling_type: u32(0) } }).model;
    expect(() => none.embed(tokens)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(none.embed(tokens, { pooling: 'cls' }).vector).toHaveLength(shape.embeddingLength);
    expect(() => buildRandomModel('bert', shape, { seed: 1, keys: { pooling_type: u32(9) } })).toThrow(ModelConfigError);
  });
});

describe('decoder embeddings', () => {
  const decoderShape = { ...defaultRandomShape };
  const { model, tensors } = buildRandomModel('llama', decoderShape, { seed: 4, include: ['attn_q.weight', 'attn_k.weight', 'attn_v.weight', 'output.weight'], keys: { pooling_type: u32(3) } });
  const output = tensors.get('output.weight')!;
  /** The LM head applied to a hidden state: logits are linear in it, so pooled states map to pooled logits. */
  const head = (h: Float32Array): number[] =>
    Array.from({ length: decoderShape.vocabSize }, (_, r) => h.reduce((sum, v, c) => sum + output.values[r * decoderShape.embeddingLength + c]! * v, 0));

  it('last pooling is the final-normed state the LM head reads', () => {
    const { vector, pooling } = model.embed(tokens, { normalize: false });
    expect(pooling).toBe('last');
    const logits = model.createSession().evaluate(tokens);
    expect(maxAbsDiff(head(vector), logits)).toBeLessThan(1e-3);
  });

  it('mean pooling averages the causal states of every position', () => {
    const { vector } = model.embed(tokens, { pooling: 'mean', normalize: false });
    const all = model.createSession().evaluate(tokens, { allLogits: true });
    const vocab = decoderShape.vocabSize;
    const meanLogits = Array.from({ length: vocab }, (_, r) => tokens.reduce((sum, _t, i) => sum + all[i * vocab + r]!, 0) / tokens.length);
    expect(maxAbsDiff(head(vector), meanLogits)).toBeLessThan(1e-3);
  });

  it('a decoder without a pooling type needs one named', () => {
    const plain = buildRandomModel('llama', decoderShape, { seed: 4 }).model;
    expect(() => plain.embed(tokens)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringContaining('llama.pooling_type') }));
    expect(plain.embed(tokens, { pooling: 'mean' }).vector.every(Number.isFinite)).toBe(true);
  });
});

describe('nomic-bert', () => {
  const { model } = buildRandomModel('nomic-bert', shape, { seed: 12, include: ['token_types.weight'] });

  it('is a bidirectional NeoX-RoPE encoder with the file\'s pooling', () => {
    expect(model.architecture.embeddingOnly).toBe(true);
    expect(model.config.bidirectional).toBe(true);
    expect(model.config.layers[0]?.rope?.mode).toBe('neox');
    expect(model.embed(tokens).pooling).toBe('mean');
  });

  it('positions come from RoPE: reordering the tokens changes the mean-pooled vector', () => {
    // Without positions a bidirectional encoder's mean pooling would not see the order at all.
    const forward = model.embed(tokens).vector;
    const reversed = model.embed([...tokens].reverse()).vector;
    expect(maxAbsDiff(forward, reversed)).toBeGreaterThan(1e-3);
    expect(model.embed(tokens, { pooling: 'cls' }).vector.every(Number.isFinite)).toBe(true);
  });
});
