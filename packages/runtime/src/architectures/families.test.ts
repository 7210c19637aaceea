import { describe, expect, it } from 'vitest';
import { buildRandomModel, defaultRandomShape, f32, modelFromRawTensors, u32, type RandomModelShape } from '../testing/random-model.js';
import { architectureByName, supportedArchitectures } from './index.js';

const prompt = [3, 17, 5, 40, 22, 9, 31, 1, 12, 44, 7, 2];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** What each family needs beyond the common keys, and the optional tensors that exercise its variants. */
const familyOptions: Record<string, Parameters<typeof buildRandomModel>[2]> = {
  llama: { include: ['attn_q.weight', 'attn_k.weight', 'attn_v.weight', 'output.weight'] },
  qwen2: { include: ['attn_q.weight', 'attn_k.weight', 'attn_v.weight', 'attn_q.bias', 'attn_k.bias', 'attn_v.bias'] },
  qwen3: { include: ['attn_q.weight', 'attn_k.weight', 'attn_v.weight'] },
  gemma2: { keys: { 'attention.sliding_window': u32(4) } },
  gemma3: { keys: { 'attention.sliding_window': u32(4), 'attention.sliding_window_pattern': u32(2), final_logit_softcapping: f32(30) } },
  gpt2: { include: ['attn_qkv.weight', 'attn_qkv.bias', 'output.weight'] },
  phi3: { include: ['attn_qkv.weight'] },
  granite: { keys: { logit_scale: f32(4), residual_scale: f32(0.5), embedding_scale: f32(6), 'attention.scale': f32(0.3) } },
  smollm3: {},
  // An encoder: no logits; bert.test.ts checks it.
  bert: {},
  'nomic-bert': {},
};

describe('every supported architecture', () => {
  const shape: RandomModelShape = { ...defaultRandomShape, blockCount: 4 };
  it('has a random-model recipe here', () => {
    expect(Object.keys(familyOptions).sort()).toEqual(supportedArchitectures().sort());
  });

  for (const name of supportedArchitectures().filter((a) => architectureByName(a).embeddingOnly !== true)) {
    it(`${name}: finite, spread logits; a batched prompt equals token-by-token decoding`, () => {
      const { model } = buildRandomModel(name, shape, { seed: 5, ...familyOptions[name] });
      expect(model.config.architecture).toBe(name);
      const batched = model.createSession().evaluate(prompt).slice();
      expect(batched.every(Number.isFinite)).toBe(true);
      expect(Math.max(...batched) - Math.min(...batched)).toBeGreaterThan(0.5);
      const stepwise = model.createSession();
      let last = new Float32Array(0);
      for (const token of prompt) last = stepwise.evaluate([token]).slice();
      expect(maxAbsDiff(batched, last)).toBeLessThan(1e-4);
      const split = model.createSession({ maxBatchSize: 5 }).evaluate(prompt);
      expect(maxAbsDiff(batched, split)).toBeLessThan(1e-4);
    });
  }
});

describe('family deviations', () => {
  it('qwen2: the Q/K/V biases take part', () => {
    const base = { ...defaultRandomShape };
    const withBias = buildRandomModel('qwen2', base, { seed: 3, ...familyOptions.qwen2 }).model.createSession().evaluate(prompt).slice();
    const without = buildRandomModel('qwen2', base, { seed: 3 }).model.createSession().evaluate(prompt);
    expect(maxAbsDiff(withBias, without)).toBeGreaterThan(1e-3);
  });

  it('sliding window: with every layer local, tokens before the window do not change the output', () => {
    const shape = { ...defaultRandomShape, blockCount: 1 };
    // Period 0: every layer local (llama.cpp's set_swa_pattern(0)).
    const options = { seed: 9, keys: { 'attention.sliding_window': u32(4), 'attention.sliding_window_pattern': u32(0) } };
    const { model } = buildRandomModel('gemma3', shape, options);
    expect(model.config.layers.every((l) => l.slidingWindow === 4)).toBe(true);
    const a = model.createSession().evaluate([5, 6, 7, 8, 9, 10, 11, 12]).slice();
    const outside = model.createSession().evaluate([30, 31, 32, 33, 9, 10, 11, 12]).slice();
    const inside = model.createSession().evaluate([5, 6, 7, 8, 30, 10, 11, 12]);
    expect([...outside]).toEqual([...a]);
    expect(maxAbsDiff(inside, a)).toBeGreaterThan(1e-3);
  });

  it('gemma3: local and global layers alternate with their own RoPE bases (pattern 2)', () => {
    const { model } = buildRandomModel('gemma3', defaultRandomShape, { keys: { ...familyOptions.gemma3!.keys, 'rope.freq_base': f32(1e6) } });
    const [local, global] = model.config.layers;
    expect(local).toMatchObject({ slidingWindow: 4, rope: { mode: 'neox', freqBase: 10000 } });
    expect(global).toMatchObject({ slidingWindow: undefined, rope: { mode: 'neox', freqBase: 1e6 } });
    expect(model.config.embeddingScale).toBeCloseTo(Math.sqrt(defaultRandomShape.embeddingLength), 6);
  });

  it('gemma2: final logits are soft-capped at 30, attention at 50 by default', () => {
    const { model } = buildRandomModel('gemma2', defaultRandomShape, { seed: 2, ...familyOptions.gemma2 });
    expect(model.config).toMatchObject({ attentionSoftcap: 50, finalLogitSoftcap: 30 });
    const logits = model.createSession().evaluate(prompt);
    expect(Math.max(...logits.map(Math.abs))).toBeLessThan(30);
  });

  it('gpt2: learned positions make the output depend on where a token sits', () => {
    const { model } = buildRandomModel('gpt2', defaultRandomShape, { seed: 4, ...familyOptions.gpt2 });
    expect(model.config.layers[0]!.rope).toBeUndefined();
    const session = model.createSession();
    session.evaluate([5, 5]);
    const second = session.evaluate([5]).slice();
    const first = model.createSession().evaluate([5]);
    expect(maxAbsDiff(first, second)).toBeGreaterThan(1e-3);
  });

  it('phi3: a fused QKV projection equals split Q, K, V with the same rows', () => {
    const fused = buildRandomModel('phi3', defaultRandomShape, { seed: 6, include: ['attn_qkv.weight'] });
    const tensors = new Map(fused.tensors);
    const c = fused.model.config;
    const qRows = c.headCount * c.headDim;
    const kvRows = c.headCountKv * c.headDim;
    for (let il = 0; il < c.blockCount; il++) {
      const qkv = tensors.get(`blk.${il}.attn_qkv.weight`)!;
      tensors.delete(`blk.${il}.attn_qkv.weight`);
      const cols = c.embeddingLength;
      const rows = (from: number, count: number) => ({ shape: [cols, count], values: qkv.values.slice(from * cols, (from + count) * cols) });
      tensors.set(`blk.${il}.attn_q.weight`, rows(0, qRows));
      tensors.set(`blk.${il}.attn_k.weight`, rows(qRows, kvRows));
      tensors.set(`blk.${il}.attn_v.weight`, rows(qRows + kvRows, kvRows));
    }
    const a = fused.model.createSession().evaluate(prompt).slice();
    const b = modelFromRawTensors(fused.metadata, tensors).createSession().evaluate(prompt);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
  });

  it('granite: logits are divided by logit_scale', () => {
    const one = buildRandomModel('granite', defaultRandomShape, { seed: 8, keys: { ...familyOptions.granite!.keys, logit_scale: f32(1) } });
    const four = buildRandomModel('granite', defaultRandomShape, { seed: 8, keys: { ...familyOptions.granite!.keys } });
    const a = one.model.createSession().evaluate(prompt).slice();
    const b = four.model.createSession().evaluate(prompt);
    expect(maxAbsDiff(b, a.map((v) => v / 4))).toBeLessThan(1e-6);
    expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-2);
  });

  it('smollm3: every fourth layer has no RoPE', () => {
    const { model } = buildRandomModel('smollm3', { ...defaultRandomShape, blockCount: 8 });
    expect(model.config.layers.map((l) => l.rope === undefined)).toEqual([false, false, false, true, false, false, false, true]);
  });
});
