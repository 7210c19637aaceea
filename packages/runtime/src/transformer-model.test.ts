import { describe, expect, it } from 'vitest';
import { ContextOverflowError, InvalidInputError, ModelLoadError } from './errors.js';
import type { ModelConfig } from './model-config.js';
import { defaultTinyShape, f32Matrix, randomLlamaTensors, splitRawTensors, tinyConfig, type RawTensor } from './tiny-llama.fixture.js';
import { TransformerModel, llamaWeightsFromTensors } from './transformer-model.js';

function buildModel(config: ModelConfig, tensors: ReadonlyMap<string, RawTensor>, contextLength?: number, maxBatchSize?: number): TransformerModel {
  const { matrices, vectors } = splitRawTensors(tensors);
  return new TransformerModel(config, llamaWeightsFromTensors(config, matrices, vectors), {
    ...(contextLength === undefined ? {} : { contextLength }),
    ...(maxBatchSize === undefined ? {} : { maxBatchSize }),
  });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function spread(values: Float32Array): number {
  return Math.max(...values) - Math.min(...values);
}

const prompt = [3, 17, 5, 40, 22, 9, 31, 1, 12, 44];

describe('TransformerModel', () => {
  const config = tinyConfig();
  const tensors = randomLlamaTensors(config, 7, false);

  it('returns finite logits over the vocabulary and advances the position', () => {
    const model = buildModel(config, tensors);
    const logits = model.evaluate(prompt);
    expect(logits.length).toBe(config.vocabSize);
    expect(logits.every(Number.isFinite)).toBe(true);
    expect(spread(logits)).toBeGreaterThan(1);
    expect(model.position).toBe(prompt.length);
    model.evaluate([4]);
    expect(model.position).toBe(prompt.length + 1);
  });

  it('batched prefill equals token-by-token decode (F32, 1e-5), also when the batch is split', () => {
    const batched = buildModel(config, tensors).evaluate(prompt).slice();
    const stepwise = buildModel(config, tensors);
    let last = new Float32Array(0);
    for (const token of prompt) last = stepwise.evaluate([token]).slice();
    expect(maxAbsDiff(batched, last)).toBeLessThan(1e-5);
    const split = buildModel(config, tensors, undefined, 3).evaluate(prompt).slice();
    expect(maxAbsDiff(batched, split)).toBeLessThan(1e-5);
    // Every position of the prefill fed the cache: decoding one more token agrees too.
    const a = buildModel(config, tensors);
    a.evaluate(prompt);
    expect(maxAbsDiff(a.evaluate([6]).slice(), stepwise.evaluate([6]).slice())).toBeLessThan(1e-5);
  });

  it('gives the same logits after reset()', () => {
    const model = buildModel(config, tensors);
    const first = model.evaluate(prompt).slice();
    model.evaluate([2, 3]);
    model.reset();
    expect(model.position).toBe(0);
    expect(maxAbsDiff(model.evaluate(prompt), first)).toBe(0);
  });

  it('depends on token order (RoPE and the causal mask are active)', () => {
    const forward = buildModel(config, tensors).evaluate([5, 9, 12]).slice();
    const swapped = buildModel(config, tensors).evaluate([9, 5, 12]).slice();
    expect(maxAbsDiff(forward, swapped)).toBeGreaterThan(1e-3);
  });

  it('refuses to run past the context window with a typed error and leaves the state intact', () => {
    const model = buildModel(config, tensors, 8);
    model.evaluate([1, 2, 3, 4, 5, 6]);
    let caught: unknown;
    try {
      model.evaluate([7, 8, 9]);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ContextOverflowError);
    expect(caught).toMatchObject({ code: 'CONTEXT_OVERFLOW', position: 6, requested: 3, contextLength: 8 });
    expect(model.position).toBe(6);
    model.evaluate([7, 8]);
    expect(model.position).toBe(8);
    expect(() => model.evaluate([1])).toThrow(ContextOverflowError);
    model.reset();
    expect(model.evaluate([1]).length).toBe(config.vocabSize);
  });

  it('uses the config context length by default', () => {
    const model = buildModel(config, tensors);
    expect(model.contextLength).toBe(config.contextLength);
    expect(() => model.evaluate(Array.from({ length: config.contextLength + 1 }, () => 1))).toThrow(ContextOverflowError);
    expect(model.position).toBe(0);
  });

  it('rejects token ids outside the vocabulary and empty input', () => {
    const model = buildModel(config, tensors);
    expect(() => model.evaluate([1, config.vocabSize])).toThrow(/tokens\[1\] = 48/);
    expect(() => model.evaluate([-1])).toThrow(InvalidInputError);
    expect(() => model.evaluate([1.5])).toThrow(InvalidInputError);
    expect(() => model.evaluate([])).toThrow(InvalidInputError);
    expect(model.position).toBe(0);
  });

  it('rejects a weight of the wrong shape, naming the tensor', () => {
    const broken = new Map(tensors);
    broken.set('blk.1.ffn_up.weight', { shape: [config.embeddingLength, config.feedForwardLength - 1], values: new Float32Array(config.embeddingLength * (config.feedForwardLength - 1)) });
    const { matrices, vectors } = splitRawTensors(broken);
    let caught: unknown;
    try {
      new TransformerModel(config, llamaWeightsFromTensors(config, matrices, vectors));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ModelLoadError);
    expect(caught).toMatchObject({ code: 'WRONG_SHAPE', tensorName: 'blk.1.ffn_up.weight' });
  });
});

describe('grouped-query attention', () => {
  /**
   * A GQA model equals the multi-head model whose K/V projections repeat each KV head for its
   * group of query heads, [kv0, kv0, kv1, kv1] for 4 heads on 2 KV heads (llama.cpp's mapping).
   */
  function expandKvHeads(config: ModelConfig, tensors: ReadonlyMap<string, RawTensor>, kvHeadOfQueryHead: (h: number) => number): Map<string, RawTensor> {
    const expanded = new Map(tensors);
    const rowLength = config.embeddingLength;
    for (const [name, raw] of tensors) {
      if (!/attn_[kv]\.weight$/.test(name)) continue;
      const values = new Float32Array(config.headCount * config.headDim * rowLength);
      for (let h = 0; h < config.headCount; h++) {
        const from = kvHeadOfQueryHead(h) * config.headDim * rowLength;
        values.set(raw.values.subarray(from, from + config.headDim * rowLength), h * config.headDim * rowLength);
      }
      expanded.set(name, { shape: [rowLength, config.headCount * config.headDim], values });
    }
    return expanded;
  }

  for (const headCountKv of [2, 1]) {
    it(`${config4(headCountKv)} equals the expanded multi-head model`, () => {
      const gqaConfig = tinyConfig({ ...defaultTinyShape, headCount: 4, headCountKv });
      const mhaConfig = tinyConfig({ ...defaultTinyShape, headCount: 4, headCountKv: 4 });
      const tensors = randomLlamaTensors(gqaConfig, 11, true);
      const group = 4 / headCountKv;
      const gqa = buildModel(gqaConfig, tensors).evaluate(prompt).slice();
      const mha = buildModel(mhaConfig, expandKvHeads(mhaConfig, tensors, (h) => Math.floor(h / group))).evaluate(prompt).slice();
      expect(maxAbsDiff(gqa, mha)).toBeLessThan(1e-5);
      if (headCountKv > 1) {
        // The interleaved mapping (h mod kvHeads) is a different model: the comparison can fail.
        const wrong = buildModel(mhaConfig, expandKvHeads(mhaConfig, tensors, (h) => h % headCountKv)).evaluate(prompt).slice();
        expect(maxAbsDiff(gqa, wrong)).toBeGreaterThan(1e-3);
      }
    });
  }
});

function config4(headCountKv: number): string {
  return headCountKv === 1 ? 'MQA (4 heads, 1 KV head)' : `GQA (4 heads, ${headCountKv} KV heads)`;
}

describe('tied and untied output', () => {
  const config = tinyConfig();
  const tied = randomLlamaTensors(config, 3, true);

  it('a tied model uses token_embd.weight as its LM head', () => {
    const { matrices, vectors } = splitRawTensors(tied);
    const weights = llamaWeightsFromTensors(config, matrices, vectors);
    expect(weights.output).toBe(weights.tokenEmbedding);
  });

  it('an untied model with output = token_embd gives the tied logits; another output does not', () => {
    const untiedSame = new Map(tied);
    untiedSame.set('output.weight', tied.get('token_embd.weight')!);
    const untiedOther = randomLlamaTensors(config, 3, false);
    const logitsTied = buildModel(config, tied).evaluate(prompt).slice();
    expect(maxAbsDiff(buildModel(config, untiedSame).evaluate(prompt), logitsTied)).toBe(0);
    expect(maxAbsDiff(buildModel(config, untiedOther).evaluate(prompt), logitsTied)).toBeGreaterThan(1e-2);
  });

  it('untied: the logits are output.weight times the final hidden state', () => {
    const untied = randomLlamaTensors(config, 5, false);
    const scaled = new Map(untied);
    const output = untied.get('output.weight')!;
    scaled.set('output.weight', { shape: output.shape, values: output.values.map((v) => v * 2) });
    const base = buildModel(config, untied).evaluate(prompt).slice();
    const doubled = buildModel(config, scaled).evaluate(prompt);
    for (let i = 0; i < base.length; i++) expect(doubled[i]).toBeCloseTo(2 * base[i]!, 4);
    expect(f32Matrix(output).rows).toBe(config.vocabSize);
  });
});
