import { InvalidInputError } from './errors.js';
import { argmax } from './ops/math.js';
import type { Session } from './model/session.js';

/** A seedable uniform generator on [0, 1): xoshiro128**, seeded through splitmix32. */
export function createRng(seed: number): () => number {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result / 4294967296;
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export interface SamplingOptions {
  /** 0 (or less) = greedy argmax. Default 1. */
  readonly temperature?: number;
  /** Keep only the k most likely tokens; 0 = off (default). */
  readonly topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 = off (default). */
  readonly topP?: number;
  /** Seed of the random generator; the same seed and logits give the same tokens. Default: random. */
  readonly seed?: number;
}

/**
 * Picks the next token from logits. Greedy is argmax with ties to the lowest id (as llama.cpp).
 * Otherwise the filters run in llama.cpp's sampler-chain order: top-k, then top-p on the
 * softmax of the raw logits, then temperature, then a draw from the renormalised distribution.
 */
export class Sampler {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  private readonly random: () => number;
  private order = new Int32Array(0);
  private weights = new Float64Array(0);

  constructor(options: SamplingOptions = {}) {
    this.temperature = checkOption('temperature', options.temperature ?? 1, (v) => Number.isFinite(v));
    this.topK = checkOption('topK', options.topK ?? 0, (v) => Number.isSafeInteger(v) && v >= 0);
    this.topP = checkOption('topP', options.topP ?? 1, (v) => v > 0 && v <= 1);
    const seed = checkOption('seed', options.seed ?? Math.floor(Math.random() * 2 ** 32), (v) => Number.isFinite(v));
    this.random = createRng(seed);
  }

  get isGreedy(): boolean {
    return this.temperature <= 0;
  }

  sample(logits: Float32Array): number {
    if (logits.length === 0) throw new InvalidInputError('EMPTY_INPUT', 'logits', 'cannot sample from zero logits');
    if (this.isGreedy) return argmax(logits);
    const n = logits.length;
    if (this.order.length !== n) {
      this.order = new Int32Array(n);
      this.weights = new Float64Array(n);
    }
    const order = this.order;
    for (let i = 0; i < n; i++) order[i] = i;
    // Most likely first; equal logits by id so a seed always reproduces the same draw.
    order.sort((a, b) => logits[b]! - logits[a]! || a - b);

    let kept = this.topK > 0 ? Math.min(this.topK, n) : n;
    const maxLogit = logits[order[0]!]!;
    if (this.topP < 1) {
      let total = 0;
      for (let i = 0; i < kept; i++) total += Math.exp(logits[order[i]!]! - maxLogit);
      let cumulative = 0;
      for (let i = 0; i < kept; i++) {
        cumulative += Math.exp(logits[order[i]!]! - maxLogit) / total;
        if (cumulative >= this.topP) {
          kept = i + 1;
          break;
        }
      }
    }
    let total = 0;
    for (let i = 0; i < kept; i++) {
      const w = Math.exp((logits[order[i]!]! - maxLogit) / this.temperature);
      this.weights[i] = w;
      total += w;
    }
    let threshold = this.random() * total;
    for (let i = 0; i < kept; i++) {
      threshold -= this.weights[i]!;
      if (threshold < 0) return order[i]!;
    }
    return order[kept - 1]!;
  }
}

function checkOption(field: string, value: number, ok: (v: number) => boolean): number {
  if (!ok(value)) throw new InvalidInputError('INVALID_OPTION', field, `sampling option ${field} = ${value} is out of range`);
  return value;
}

export interface GenerateTokensOptions {
  /** Most new tokens to produce. */
  readonly maxNewTokens: number;
  /** Default: greedy. */
  readonly sampler?: Sampler;
  /** Stop after a token for which this is true (the token is included), e.g. `tokenizer.isEndOfGeneration`. */
  readonly isEndOfGeneration?: (token: number) => boolean;
}

/**
 * Evaluates `prompt` (one batched pass), then samples up to `maxNewTokens` tokens, feeding each
 * one back (one decode step) before sampling the next. Returns the new tokens. The last one is
 * sampled but not evaluated, so to continue pass it as the next call's `prompt`; the model keeps
 * its KV cache across calls (`model.reset()` starts over).
 */
export function generateTokens(model: Session, prompt: readonly number[], options: GenerateTokensOptions): number[] {
  const sampler = options.sampler ?? new Sampler({ temperature: 0 });
  const generated: number[] = [];
  let logits = model.evaluate(prompt);
  for (let step = 0; step < options.maxNewTokens; step++) {
    const token = sampler.sample(logits);
    generated.push(token);
    if (options.isEndOfGeneration?.(token) === true || step + 1 === options.maxNewTokens) break;
    logits = model.evaluate([token]);
  }
  return generated;
}
