import { describe, expect, it } from 'vitest';
import { InvalidInputError } from './errors.js';
import { Sampler, createRng, samplingOptionTable, validateSamplingOptions } from './sampling.js';
import { selectTop } from './sampling/select.js';

const logits = Float32Array.of(1, 3, 3, 0.5, -2, 2.5);

describe('createRng', () => {
  it('is reproducible per seed, differs across seeds, and stays in [0, 1)', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const seqA = Array.from({ length: 1000 }, a);
    expect(Array.from({ length: 1000 }, b)).toEqual(seqA);
    expect(Array.from({ length: 1000 }, c)).not.toEqual(seqA);
    expect(seqA.every((v) => v >= 0 && v < 1)).toBe(true);
    const mean = seqA.reduce((s, v) => s + v, 0) / seqA.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });
});

describe('Sampler', () => {
  it('greedy (temperature 0) takes the argmax, ties to the lowest id', () => {
    expect(new Sampler({ temperature: 0 }).sample(logits)).toBe(1);
  });

  it('top-k 1 and a tiny top-p reduce to the most likely token', () => {
    const topK = new Sampler({ temperature: 1.5, topK: 1, seed: 1 });
    const topP = new Sampler({ temperature: 1.5, topP: 0.01, seed: 1 });
    for (let i = 0; i < 50; i++) {
      expect(topK.sample(logits)).toBe(1);
      expect(topP.sample(logits)).toBe(1);
    }
  });

  it('top-k 3 draws only from the 3 best tokens, in proportion to softmax(logits / T)', () => {
    const sampler = new Sampler({ temperature: 1, topK: 3, seed: 9 });
    const counts = new Map<number, number>();
    const draws = 20000;
    for (let i = 0; i < draws; i++) {
      const t = sampler.sample(logits);
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([1, 2, 5]);
    const z = 2 * Math.exp(3) + Math.exp(2.5);
    expect(counts.get(5)! / draws).toBeCloseTo(Math.exp(2.5) / z, 1);
    expect(Math.abs(counts.get(1)! / draws - Math.exp(3) / z)).toBeLessThan(0.02);
  });

  it('top-p keeps the smallest prefix whose probability reaches p', () => {
    // softmax of [3, 3, 2.5, 1, 0.5, -2] (sorted): the first two carry about 0.71 of the mass, the first alone 0.35.
    const sampler = new Sampler({ temperature: 1, topP: 0.6, seed: 3 });
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(sampler.sample(logits));
    expect([...seen].sort()).toEqual([1, 2]);
  });

  it('a lower temperature concentrates the draws', () => {
    const count = (temperature: number): number => {
      const sampler = new Sampler({ temperature, seed: 5 });
      let top = 0;
      for (let i = 0; i < 5000; i++) if ([1, 2].includes(sampler.sample(logits))) top++;
      return top;
    };
    expect(count(0.2)).toBeGreaterThan(count(2));
  });

  it('the same seed reproduces the same draws', () => {
    const draw = (seed: number): number[] => {
      const sampler = new Sampler({ temperature: 1, seed });
      return Array.from({ length: 100 }, () => sampler.sample(logits));
    };
    expect(draw(77)).toEqual(draw(77));
    expect(draw(77)).not.toEqual(draw(78));
  });

  it('rejects options out of range with a typed error naming the option', () => {
    expect(() => new Sampler({ topP: 0 })).toThrow(InvalidInputError);
    expect(() => new Sampler({ topK: -1 })).toThrow(/topK/);
    expect(() => new Sampler({ temperature: Number.NaN })).toThrow(/temperature/);
    expect(() => new Sampler().sample(new Float32Array(0))).toThrow(InvalidInputError);
  });
});

/** Every token `sampler` draws in `draws` calls (high temperatures make the draw nearly uniform over what the filters kept). */
function seen(sampler: Sampler, values: Float32Array, draws: number): number[] {
  const tokens = new Set<number>();
  for (let i = 0; i < draws; i++) tokens.add(sampler.sample(values));
  return [...tokens].sort((a, b) => a - b);
}

/** Deterministic pseudo-random logits of a large vocabulary with `highCount` clearly better tokens. */
function bigVocab(n: number, highCount: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = rng();
  for (let i = 0; i < highCount; i++) values[Math.floor(rng() * n)] = 10 + rng();
  return values;
}

/** Ids best first by a full sort: the oracle for the partial selections. */
function fullSort(values: Float32Array): number[] {
  return Array.from(values.keys()).sort((a, b) => values[b]! - values[a]! || a - b);
}

describe('selectTop', () => {
  it('matches a full sort (ties by lower id) for every k, over all ids and over a subset', () => {
    const values = Float32Array.from({ length: 300 }, (_, i) => Math.floor(((i * 7919) % 101) / 3));
    const order = fullSort(values);
    const out = new Int32Array(300);
    for (const k of [1, 2, 17, 64, 299, 300, 500]) {
      const kept = selectTop(values, undefined, values.length, k, out);
      expect(kept).toBe(Math.min(k, 300));
      expect(Array.from(out.subarray(0, kept))).toEqual(order.slice(0, kept));
    }
    const subset = Int32Array.from([5, 250, 3, 99, 42, 7]);
    const kept = selectTop(values, subset, subset.length, 4, out);
    const expected = Array.from(subset).sort((a, b) => values[b]! - values[a]! || a - b).slice(0, 4);
    expect(Array.from(out.subarray(0, kept))).toEqual(expected);
  });
});

describe('Sampler filters on a large vocabulary (partial selection)', () => {
  it('top-p finds the exact nucleus through its mass histogram', () => {
    const values = bigVocab(20000, 100, 11);
    const order = fullSort(values);
    const max = values[order[0]!]!;
    const total = order.reduce((s, id) => s + Math.exp(values[id]! - max), 0);
    let cumulative = 0;
    let size = 0;
    while (cumulative < 0.9) cumulative += Math.exp(values[order[size++]!]! - max) / total;
    expect(size).toBeGreaterThan(50);
    const sampler = new Sampler({ temperature: 1e6, topP: 0.9, seed: 4 });
    expect(seen(sampler, values, 4000)).toEqual(order.slice(0, size).sort((a, b) => a - b));
  });

  it('top-p on equal logits keeps the lowest ids (one histogram bucket)', () => {
    expect(seen(new Sampler({ temperature: 1, topP: 0.5, seed: 6 }), new Float32Array(10).fill(1.5), 2000)).toEqual([0, 1, 2, 3, 4]);
    expect(seen(new Sampler({ temperature: 1, topP: 0.51, seed: 6 }), new Float32Array(10).fill(1.5), 2000)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('top-k keeps exactly the k best', () => {
    const values = bigVocab(10000, 50, 12);
    const sampler = new Sampler({ temperature: 1e6, topK: 20, seed: 4 });
    expect(seen(sampler, values, 2000)).toEqual(fullSort(values).slice(0, 20).sort((a, b) => a - b));
  });
});

describe('Sampler chain', () => {
  it('min-p drops tokens below minP times the best probability', () => {
    // Best logit 3: 2.5 is within ln 2 of it (kept at minP 0.5), 1 is not.
    expect(seen(new Sampler({ temperature: 100, minP: 0.5, seed: 2 }), logits, 3000)).toEqual([1, 2, 5]);
    // At 0.1 the threshold is 3 + ln 0.1 = 0.70: logit 1 stays, 0.5 goes; at 0.05 (threshold 0.004) 0.5 stays too.
    expect(seen(new Sampler({ temperature: 100, minP: 0.1, seed: 2 }), logits, 3000)).toEqual([0, 1, 2, 5]);
    expect(seen(new Sampler({ temperature: 100, minP: 0.05, seed: 2 }), logits, 3000)).toEqual([0, 1, 2, 3, 5]);
  });

  it('typical-p keeps the tokens nearest the entropy, which can exclude the most likely one', () => {
    // p = [0.5, 0.2, 0.2, 0.05, 0.05]: entropy 1.29 nats; |surprise - entropy| = 0.60, 0.32, 0.32, 1.71, 1.71,
    // so the typical order is 1, 2, 0, ... and the first prefix with mass above 0.35 is {1, 2}.
    const typical = Float32Array.from([0.5, 0.2, 0.2, 0.05, 0.05], Math.log);
    expect(seen(new Sampler({ temperature: 1, typicalP: 0.35, seed: 8 }), typical, 2000)).toEqual([1, 2]);
    expect(new Sampler({ temperature: 0, typicalP: 0.35 }).sample(typical)).toBe(1);
    expect(seen(new Sampler({ temperature: 1, typicalP: 0.85, seed: 8 }), typical, 2000)).toEqual([0, 1, 2]);
  });

  it('logit bias shifts a token before greedy, and -Infinity bans it', () => {
    expect(new Sampler({ temperature: 0, logitBias: { 1: -Infinity } }).sample(logits)).toBe(2);
    expect(new Sampler({ temperature: 0, logitBias: { 4: 5.5 } }).sample(logits)).toBe(4);
    const banned = seen(new Sampler({ temperature: 100, seed: 1, logitBias: { 1: -Infinity, 2: -Infinity } }), logits, 3000);
    expect(banned).toEqual([0, 3, 4, 5]);
  });

  it('a ban of every token, or a bias outside the vocabulary, is a typed error', () => {
    const all = Object.fromEntries(Array.from(logits.keys(), (id) => [id, -Infinity]));
    expect(() => new Sampler({ temperature: 0, logitBias: all }).sample(logits)).toThrow(expect.objectContaining({ code: 'EMPTY_INPUT' }));
    expect(() => new Sampler({ temperature: 1, logitBias: all }).sample(logits)).toThrow(expect.objectContaining({ code: 'EMPTY_INPUT' }));
    expect(() => new Sampler({ logitBias: { 6: 1 } }).sample(logits)).toThrow(expect.objectContaining({ code: 'TOKEN_OUT_OF_RANGE', field: 'logitBias[6]' }));
  });

  it('repeat penalty divides a positive logit and multiplies a negative one (llama.cpp)', () => {
    const greedyAfter = (values: number[], penalty: number): number => {
      const sampler = new Sampler({ temperature: 0, repeatPenalty: penalty });
      sampler.accept(0);
      return sampler.sample(Float32Array.from(values));
    };
    expect(greedyAfter([2, 1.01], 2)).toBe(1); // 2 / 2 = 1 < 1.01
    expect(greedyAfter([2, 0.99], 2)).toBe(0); // 1 > 0.99
    expect(greedyAfter([-1, -1.99], 2)).toBe(1); // -1 * 2 = -2 < -1.99
    expect(greedyAfter([-1, -2.01], 2)).toBe(0);
    expect(greedyAfter([2, 1.01], 1)).toBe(0); // 1 = off
  });

  it('frequency and presence penalties subtract count * frequency + presence', () => {
    const greedyAfter = (accepted: number[], options: ConstructorParameters<typeof Sampler>[0]): number => {
      const sampler = new Sampler({ temperature: 0, ...options });
      for (const t of accepted) sampler.accept(t);
      return sampler.sample(Float32Array.of(3, 1.6));
    };
    expect(greedyAfter([0, 0, 0], { frequencyPenalty: 0.5 })).toBe(1); // 3 - 1.5 = 1.5
    expect(greedyAfter([0, 0], { frequencyPenalty: 0.5 })).toBe(0); // 3 - 1.0 = 2
    expect(greedyAfter([0], { presencePenalty: 1.5 })).toBe(1);
    expect(greedyAfter([0, 0, 0], { presencePenalty: 1.3 })).toBe(0); // presence does not scale with the count
    expect(greedyAfter([0, 1], { presencePenalty: 1.5 })).toBe(0); // both penalised alike
  });

  it('penalties only see the last repeatLastN accepted tokens, and reset forgets them', () => {
    const sampler = new Sampler({ temperature: 0, presencePenalty: 2, repeatLastN: 2 });
    const values = Float32Array.of(3, 1.6, 0, 0);
    sampler.accept(0);
    expect(sampler.sample(values)).toBe(1);
    sampler.accept(2);
    sampler.accept(3); // token 0 leaves the window
    expect(sampler.sample(values)).toBe(0);
    sampler.accept(0);
    expect(sampler.sample(values)).toBe(1);
    sampler.reset();
    expect(sampler.sample(values)).toBe(0);
    expect(() => sampler.accept(-1)).toThrow(InvalidInputError);
    sampler.accept(7); // outside this 4-token vocabulary: caught when sampling
    expect(() => sampler.sample(values)).toThrow(expect.objectContaining({ code: 'TOKEN_OUT_OF_RANGE' }));
  });

  it('reset restarts the generator, so the draws repeat', () => {
    const sampler = new Sampler({ temperature: 1, seed: 21 });
    const first = Array.from({ length: 50 }, () => sampler.sample(logits));
    sampler.reset();
    expect(Array.from({ length: 50 }, () => sampler.sample(logits))).toEqual(first);
  });

  it('a NaN logit is never picked', () => {
    expect(seen(new Sampler({ temperature: 5, seed: 3 }), Float32Array.of(Number.NaN, 1, 1), 500)).toEqual([1, 2]);
    expect(new Sampler({ temperature: 0 }).sample(Float32Array.of(Number.NaN, 1, 2))).toBe(2);
    expect(new Sampler({ temperature: 0, presencePenalty: 0.5 }).sample(Float32Array.of(Number.NaN, 1, 2))).toBe(2);
    expect(() => new Sampler({ temperature: 0 }).sample(Float32Array.of(Number.NaN, -Infinity))).toThrow(expect.objectContaining({ code: 'EMPTY_INPUT' }));
  });

  it('ignores names outside the sampling table, so generation options can pass through', () => {
    expect(() => new Sampler({ temperature: 0, maxTokens: 5 } as never)).not.toThrow();
  });
});

describe('validateSamplingOptions and its table', () => {
  const bad: Record<string, unknown[]> = {
    temperature: [-0.1, Number.NaN, Infinity, '1'],
    topK: [-1, 1.5, Number.NaN],
    topP: [0, 1.01, -1, Number.NaN],
    minP: [-0.01, 1.5],
    typicalP: [0, 2],
    repeatPenalty: [0, -1, Infinity],
    frequencyPenalty: [Number.NaN, -Infinity],
    presencePenalty: [Infinity, 'x'],
    repeatLastN: [-1, 2.5],
    logitBias: [[1, 2], 'x', { a: 1 }, { '-1': 0 }, { 1: Number.NaN }, { 1: Infinity }, { '01': 1 }],
    seed: [-1, 1.5, 2 ** 32],
    jsonSchema: ['x', [], null, { type: 'widget' }, { type: 'string', pattern: 'a(?=b)' }],
    grammar: [1, { root: 'x' }, '', 'root ::= "a" )', 'root ::= undefined-rule', 'root ::= root "a"', 'root ::= "a"{99999}'],
  };

  it('has a row for every option, each with a description and a valid default', () => {
    expect(samplingOptionTable.map((s) => s.name).sort()).toEqual(Object.keys(bad).sort());
    for (const spec of samplingOptionTable) {
      expect(spec.description.length).toBeGreaterThan(10);
      if (spec.default !== undefined) expect(validateSamplingOptions({ [spec.name]: spec.default })).toEqual({ [spec.name]: spec.default });
    }
  });

  it.each(Object.entries(bad))('rejects each bad %s, naming the field', (name, values) => {
    for (const value of values) {
      let error: unknown;
      try {
        validateSamplingOptions({ [name]: value });
      } catch (e) {
        error = e;
      }
      expect(error, `${name} = ${String(value)}`).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).code).toBe('INVALID_OPTION');
      expect((error as InvalidInputError).field.startsWith(name)).toBe(true);
      expect(() => new Sampler({ [name]: value })).toThrow(InvalidInputError);
    }
  });

  it('rejects an unknown name and a non-object, and accepts good values', () => {
    expect(() => validateSamplingOptions({ top_p: 0.5 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', field: 'top_p' }));
    expect(() => validateSamplingOptions(42)).toThrow(InvalidInputError);
    expect(() => validateSamplingOptions(null)).toThrow(InvalidInputError);
    const good = { temperature: 0, topK: 40, topP: 1, minP: 0, typicalP: 0.5, repeatPenalty: 1.1, frequencyPenalty: -0.5, presencePenalty: 0.5, repeatLastN: 0, logitBias: { 5: -Infinity, 7: 2 }, seed: 0xffffffff };
    expect(validateSamplingOptions(good)).toEqual(good);
    expect(validateSamplingOptions({ temperature: undefined })).toEqual({});
    expect(validateSamplingOptions(undefined)).toEqual({});
  });
});

