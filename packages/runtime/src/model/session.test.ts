import { describe, expect, it } from 'vitest';
import { ContextOverflowError, InvalidInputError, ModelLoadError } from '../errors.js';
import type { ModelConfig } from './config.js';
import type { Session } from './session.js';
import { defaultTinyShape, randomLlamaTensors, tinyConfig, tinyLlamaMetadata, tinyModel, tinySession, type RawTensor } from '../tiny-llama.fixture.js';

function buildModel(config: ModelConfig, tensors: ReadonlyMap<string, RawTensor>, contextLength?: number, maxBatchSize?: number): Session {
  return tinySession(config, tensors, {
    ...(contextLength === undefined ? {} : { contextSize: contextLength }),
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

describe('Session over a llama Model', () => {
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

  it('uses the config context length by default (capped at 4096)', () => {
    const model = buildModel(config, tensors);
    expect(model.contextSize).toBe(config.contextLength);
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
    let caught: unknown;
    try {
      tinyModel(tinyLlamaMetadata(config), broken);
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

  it('a tied model has no output.weight and binds none', () => {
    expect(tied.has('output.weight')).toBe(false);
    const weights = tinyModel(tinyLlamaMetadata(config), tied).weights as { output?: unknown; tokenEmbd: unknown };
    expect(weights.output).toBeUndefined();
    expect(weights.tokenEmbd).toBeDefined();
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
    expect(output.shape).toEqual([config.embeddingLength, config.vocabSize]);
  });
});

describe('sessions of one model', () => {
  const config = tinyConfig();
  const tensors = randomLlamaTensors(config, 13, true);
  const model = tinyModel(tinyLlamaMetadata(config), tensors);

  /** Prompt, then greedy steps, logits of every step copied. */
  function run(session: Session, tokens: readonly number[], steps: number): Float32Array[] {
    const out = [session.evaluate(tokens).slice()];
    for (let i = 0; i < steps; i++) out.push(session.evaluate([(i * 7 + 3) % config.vocabSize]).slice());
    return out;
  }

  it('two sessions interleaved token by token give exactly what each gives alone', () => {
    const soloA = run(model.createSession(), prompt, 6);
    const soloB = run(model.createSession(), [5, 9, 12], 6);
    const a = model.createSession();
    const b = model.createSession();
    const outA = [a.evaluate(prompt).slice()];
    const outB = [b.evaluate([5, 9, 12]).slice()];
    for (let i = 0; i < 6; i++) {
      outB.push(b.evaluate([(i * 7 + 3) % config.vocabSize]).slice());
      outA.push(a.evaluate([(i * 7 + 3) % config.vocabSize]).slice());
    }
    outA.forEach((logits, i) => expect([...logits]).toEqual([...soloA[i]!]));
    outB.forEach((logits, i) => expect([...logits]).toEqual([...soloB[i]!]));
  });

  it('truncate(n) keeps the prefix: continuing equals a fresh run of prefix + new tokens', () => {
    const session = model.createSession();
    session.evaluate(prompt);
    session.truncate(4);
    expect(session.position).toBe(4);
    const reused = session.evaluate([20, 21]).slice();
    const fresh = model.createSession().evaluate([...prompt.slice(0, 4), 20, 21]);
    expect(maxAbsDiff(reused, fresh)).toBeLessThan(1e-5);
    expect(() => session.truncate(7)).toThrow(InvalidInputError);
    expect(() => session.truncate(-1)).toThrow(InvalidInputError);
  });

  it('clone() copies the cache; the copies then diverge independently', () => {
    const session = model.createSession();
    session.evaluate(prompt);
    const copy = session.clone();
    expect(copy.position).toBe(prompt.length);
    const fromCopy = copy.evaluate([8]).slice();
    const fromOriginal = session.evaluate([8]).slice();
    expect([...fromCopy]).toEqual([...fromOriginal]);
    copy.evaluate([9]);
    expect(session.position).toBe(prompt.length + 1);
    expect(copy.position).toBe(prompt.length + 2);
  });

  it('allLogits returns every position, equal to token-by-token evaluation', () => {
    const all = model.createSession().evaluate(prompt, { allLogits: true });
    expect(all.length).toBe(prompt.length * config.vocabSize);
    const stepwise = model.createSession();
    prompt.forEach((token, i) => {
      const logits = stepwise.evaluate([token]);
      expect(maxAbsDiff(all.subarray(i * config.vocabSize, (i + 1) * config.vocabSize), logits)).toBeLessThan(1e-5);
    });
  });

  it('an F16 KV cache takes half the memory and stays close to F32', () => {
    const f32 = model.createSession();
    const f16 = model.createSession({ kvType: 'f16' });
    const a = f32.evaluate(prompt).slice();
    const b = f16.evaluate(prompt).slice();
    expect(f16.memory.kvBytes * 2).toBe(f32.memory.kvBytes);
    expect(f16.memory.kvBytesMax * 2).toBe(f32.memory.kvBytesMax);
    const diff = maxAbsDiff(a, b);
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThan(0.02 * spread(a));
  });

  it('reports KV memory: bytes per position x context size at most', () => {
    const session = model.createSession({ contextSize: 16 });
    const perPosition = config.blockCount * 2 * config.headCountKv * config.headDim * 4;
    expect(session.memory.kvBytesMax).toBe(16 * perPosition);
    session.evaluate([1, 2]);
    expect(session.memory.kvBytes).toBeGreaterThan(0);
    expect(session.memory.kvBytes).toBeLessThanOrEqual(session.memory.kvBytesMax);
  });

  it('validates its options and refuses use after dispose', () => {
    expect(() => model.createSession({ contextSize: config.contextLength + 1 })).toThrow(/exceeds the model's context length/);
    expect(() => model.createSession({ contextSize: 0 })).toThrow(InvalidInputError);
    expect(() => model.createSession({ kvType: 'q8' as never })).toThrow(/kvType/);
    const session = model.createSession();
    session.dispose();
    expect(() => session.evaluate([1])).toThrow(/disposed/);
  });
});
