import { describe, expect, it } from 'vitest';
import { InvalidInputError } from './errors.js';
import { Sampler, createRng } from './sampling.js';

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
